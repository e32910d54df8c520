// POST /instances/{id}/verify: checks the credentials with the vendor again now; the outcome,
// refused or unreachable included, is the instance's state. At most one call to the vendor per
// instance is in flight: verifies at once on this replica share it; one while another replica's
// check, a change's or a refresh runs, or sooner than the shortest interval after the last, is a
// 429 with Retry-After.
import type { Caller } from "../../accounts/store.js";
import { NotFoundError } from "../../errors.js";
import { WriteConflictError } from "../errors.js";
import type { InstanceProvisioning } from "../instance-provisioning.js";
import type { InstanceChanges, InstanceRecord } from "../store.js";
import { claimVendor, type VendorLease } from "../vendor-lease.js";
import {
  committed,
  credentialBasis,
  find,
  fullConfiguration,
  maxWriteAttempts,
  present,
  recordingEvent,
  validityEvent,
  type InstanceAccess,
  type InstanceResult,
} from "./sealed-instance.js";

export interface VerifyInstanceDeps extends InstanceAccess {
  provisioning: InstanceProvisioning;
  vendorLease: VendorLease;
  /** The verifies in flight on this replica, by instance: the later ones share the first's answer. */
  verifying: Map<string, Promise<InstanceResult>>;
}

export function verifyInstance(deps: VerifyInstanceDeps, caller: Caller, id: number): Promise<InstanceResult> {
  const key = `${caller.organizationId}:${id}`;
  let running = deps.verifying.get(key);
  if (!running) {
    running = verifyOnce(deps, caller, id).finally(() => deps.verifying.delete(key));
    deps.verifying.set(key, running);
  }
  return running;
}

async function verifyOnce(deps: VerifyInstanceDeps, caller: Caller, id: number): Promise<InstanceResult> {
  const record = await find(deps, caller, id);
  if (deps.provisioning.mode === "off") return present(deps, record);
  if ((await claimVendor(deps.vendorLease, caller.organizationId, id)) === "gone") throw new NotFoundError(`There is no instance ${id}`);
  try {
    // Read again under the lease: a check or a change that ended just before it is seen.
    const current = await find(deps, caller, id);
    const connector = deps.registry.require(current.connectorKey);
    const changes = await deps.provisioning.verify(connector, current, fullConfiguration(deps, current));
    return await writeCheck(deps, caller, current, changes);
  } finally {
    await deps.vendorLease.coolDown(id);
  }
}

/**
 * Writes what a check found over the instance it checked; when another writer got in between,
 * over the new version as long as the credentials stayed, else the check is moot (the change
 * checked them itself) and the instance is answered as it now is. Never asks the vendor again.
 */
async function writeCheck(
  deps: InstanceAccess,
  caller: Caller,
  checked: InstanceRecord,
  changes: InstanceChanges,
): Promise<InstanceResult> {
  let current = checked;
  for (let attempt = 1; attempt <= maxWriteAttempts; attempt++) {
    const event = recordingEvent(deps, validityEvent(current, changes) ?? "instance.updated");
    const outcome = await deps.store.update(caller.organizationId, current.id, current.version, changes, event);
    if (outcome === "not-found") throw new NotFoundError(`There is no instance ${current.id}`);
    if (outcome !== "version-mismatch") return present(deps, committed(deps, outcome).record);
    current = await find(deps, caller, current.id);
    if (credentialBasis(current) !== credentialBasis(checked)) return present(deps, current);
  }
  throw new WriteConflictError();
}
