// DELETE /instances/{id}: the instance goes, with instance.deleted recorded in the same
// transaction (its other pending deliveries are dropped by the outbox). An instance with vendor
// webhooks has them removed at the vendor once its row is gone (its receiving URL answers 404 from
// the commit on), with its credentials as they were, renewed first when due; a removal that
// fails never undoes the delete: it is logged, for the operator to remove at the vendor.
import type { Caller } from "../../accounts/store.js";
import { NotFoundError, PreconditionFailedError } from "../../errors.js";
import type { HookProvisioning } from "../../vendor-hooks/hook-provisioning.js";
import type { InstanceRecord } from "../store.js";
import { renewedAccess, vendorAccess, type VendorAccess, type VendorAccessDeps } from "./vendorAccess.js";
import { checkIfMatch, committed, find, fullConfiguration, maxWriteAttempts, recordingEvent } from "./sealed-instance.js";

export interface DeleteInstanceDeps extends VendorAccessDeps {
  hooks: HookProvisioning;
  /** How long a removal waits for a token renewal another call has under way. */
  renewalWaitMs: number;
}

export async function deleteInstance(deps: DeleteInstanceDeps, caller: Caller, id: number, ifMatch: string | undefined): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const record = await find(deps, caller, id);
    checkIfMatch(ifMatch, record);
    // Only an instance with hooks is pinned to the version read: its hooks are the ones removed.
    const access = record.vendorHooks === undefined ? undefined : await accessForRemoval(deps, caller, record);
    const pinned = ifMatch !== undefined || access !== undefined ? record.version : undefined;
    const outcome = await deps.store.delete(caller.organizationId, id, pinned, recordingEvent(deps, "instance.deleted"));
    if (outcome === "not-found") throw new NotFoundError(`There is no instance ${id}`);
    if (outcome !== "version-mismatch") {
      committed(deps, outcome);
      if (record.vendorHooks !== undefined) {
        const connector = deps.registry.require(record.connectorKey);
        const credentials = access?.credentials ?? deps.provisioning.forUse(connector, record, fullConfiguration(deps, record)).credentials;
        await deps.hooks.removeAll(connector, credentials, record.vendorHooks, `instance ${id} (deleted)`);
      }
      return;
    }
    if (ifMatch !== undefined || attempt >= maxWriteAttempts)
      throw new PreconditionFailedError("The instance changed while this request was being applied; read it again");
  }
}

/** The credentials the hooks are removed with, renewed when due; undefined where no vendor is called. */
async function accessForRemoval(deps: DeleteInstanceDeps, caller: Caller, record: InstanceRecord): Promise<VendorAccess | undefined> {
  if (deps.provisioning.mode !== "live") return undefined;
  try {
    const access = await vendorAccess(deps, caller, record.id);
    if (!access.renewalDue) return access;
    return (await renewedAccess(deps, caller, access, deps.renewalWaitMs)) ?? access;
  } catch (error) {
    if (error instanceof NotFoundError) throw error;
    // Credentials that cannot be used now: the delete goes on, and the removal fails (logged).
    return undefined;
  }
}
