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
import { sealingContexts } from "../../secrets/contexts.js";
import type { HookChanges, HookProvisioning } from "../../vendor-hooks/hook-provisioning.js";
import type { InstanceCredentials } from "../../provisioning/provisioner.js";
import { checkVendorHooksReceivable, vendorHookSettings } from "../vendor-hook-settings.js";

export interface CredentialChangeDeps {
  provisioning: InstanceProvisioning;
  vendorLease: VendorLease;
  hooks: HookProvisioning;
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
export async function changingWrite(
  deps: InstanceAccess & CredentialChangeDeps,
  target: { caller: Caller; id: number; ifMatch: string | undefined },
  change: (record: InstanceRecord, checkedChange: CheckedChange) => Promise<InstanceChanges>,
): Promise<Written> {
  let hooked: { connector: Connector; credentials: InstanceCredentials; stored: string | undefined; changes: HookChanges } | undefined;
  try {
    return await withVendorLease(deps, (checkedChange) =>
      retryingWrite(deps, {
        ...target,
        event: "instance.updated",
        change: async (record) => {
          const changes = await change(record, checkedChange);
          hooked = await hookChangesOf(deps, record, changes);
          return { ...changes, ...hooked?.changes };
        },
      }),
    );
  } catch (error) {
    // Not stored: the hooks this change registered go again.
    if (hooked) await deps.hooks.undo(hooked.connector, hooked.credentials, hooked.stored, hooked.changes, `instance ${target.id}`);
    throw error;
  }
}

/**
 * Refuses (400) a change that turns vendor webhooks on, from `before` to `after` (whole
 * configurations), on a server without PUBLIC_URL; before any call to the vendor. An instance
 * already hooked (stored before the server lost its PUBLIC_URL) is left as it is.
 */
export function checkHooksTurnedOn(
  deps: CredentialChangeDeps,
  connector: Connector,
  before: Record<string, string>,
  after: Record<string, string>,
): void {
  const base = { ...connector.platformConfiguration, ...connector.defaults };
  if (vendorHookSettings(connector.events, { ...base, ...before }).hooked) return;
  checkVendorHooksReceivable(connector.key, connector.events, { ...base, ...after }, deps.hooks.publicUrl);
}

/**
 * The vendor webhooks a change of the configuration brings (hook-provisioning.ts), with the
 * credentials as the change leaves them; none when the configuration is not changed.
 */
async function hookChangesOf(deps: InstanceAccess & CredentialChangeDeps, record: InstanceRecord, changes: InstanceChanges) {
  if (changes.configuration === undefined || changes.sealedSecrets === undefined) return undefined;
  const connector = deps.registry.require(record.connectorKey);
  const secrets = deps.secretBox.open(changes.sealedSecrets, sealingContexts.instanceSecrets(record.organizationId));
  const after = { ...changes.configuration, ...(JSON.parse(secrets) as Record<string, string>) };
  const provisioned = {
    ...record,
    provisioning: changes.provisioning ?? record.provisioning,
    refreshDueAt: changes.refreshDueAt === undefined ? record.refreshDueAt : changes.refreshDueAt,
  };
  const { credentials } = deps.provisioning.forUse(connector, provisioned, after);
  const hookChanges = await deps.hooks.changes(connector, record.organizationId, credentials, record.vendorHooks, `instance ${record.id}`);
  return { connector, credentials, stored: record.vendorHooks, changes: hookChanges };
}
