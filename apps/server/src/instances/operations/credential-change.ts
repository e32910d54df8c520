// What an update and a replacement share when they touch the credentials: the secrets a change
// must send again (it moves where, or as whom, they go), and the vendor lease its check runs
// under (the one verify and the refresher take), held on afterwards for the shortest interval.
import type { Connector } from "../../connectors/registry.js";
import { NotFoundError } from "../../errors.js";
import { CredentialsRequiredError } from "../errors.js";
import type { InstanceProvisioning } from "../instance-provisioning.js";
import type { Caller } from "../../accounts/store.js";
import type { InstanceChanges, InstanceRecord, Written } from "../store.js";
import { claimVendor, type VendorLease } from "../vendor-lease.js";
import { retryingWrite, type InstanceAccess } from "./sealed-instance.js";

export interface CredentialChangeDeps {
  provisioning: InstanceProvisioning;
  vendorLease: VendorLease;
}

/** Refuses a change that moves where, or as whom, the stored secrets go without sending them again. */
export function checkSecretsSentAgain(
  deps: CredentialChangeDeps,
  connector: Connector,
  before: Record<string, string>,
  after: Record<string, string>,
  supplied: ReadonlySet<string>,
): void {
  const missing = deps.provisioning.secretsToSendAgain(connector, before, after, supplied);
  if (missing.length) throw new CredentialsRequiredError(connector.key, missing);
}

/**
 * Runs `write` with the instance's vendor lease available to its check: the lease is taken only
 * when the change touches a credential (at most one call in flight per instance, none sooner than
 * the shortest interval after the last: else a 429), and held on for that interval afterwards.
 */
async function withVendorLease<T>(deps: CredentialChangeDeps, write: (checkedChange: CheckedChange) => Promise<T>): Promise<T> {
  const held: number[] = [];
  const checkedChange: CheckedChange = async (connector, record, before, after, supplied) => {
    if (!deps.provisioning.checksAgain(connector, before, after)) return {};
    if ((await claimVendor(deps.vendorLease, record.organizationId, record.id)) === "gone") {
      throw new NotFoundError(`There is no instance ${record.id}`);
    }
    held.push(record.id);
    return deps.provisioning.forChange(connector, record, before, after, supplied);
  };
  try {
    return await write(checkedChange);
  } finally {
    await Promise.all(held.map((id) => deps.vendorLease.coolDown(id)));
  }
}

/** The provisioning changes of a change: a check with the vendor when it touches a credential, else none. */
export type CheckedChange = (
  connector: Connector,
  record: InstanceRecord,
  before: Record<string, string>,
  after: Record<string, string>,
  supplied: ReadonlySet<string>,
) => Promise<InstanceChanges>;

/**
 * An update's or a replacement's write: `change` works out the changes from the record read
 * (once, whatever the retries), with `checkedChange` for its check with the vendor, under the
 * lease; instance.updated is recorded unless the check turns the instance's validity.
 */
export function changingWrite(
  deps: InstanceAccess & CredentialChangeDeps,
  target: { caller: Caller; id: number; ifMatch: string | undefined },
  change: (record: InstanceRecord, checkedChange: CheckedChange) => Promise<InstanceChanges>,
): Promise<Written> {
  return withVendorLease(deps, (checkedChange) =>
    retryingWrite(deps, { ...target, event: "instance.updated", change: (record) => change(record, checkedChange) }),
  );
}
