// PATCH /instances/{id}: merges the name, tags, disabled flag and configuration entries sent (an
// entry set to null is removed; a secret is replaced only when sent), checks the credentials
// again when the change touches one, and records instance.updated.
import type { Caller } from "../../accounts/store.js";
import type { UpdateInstanceRequest } from "../../api-types.js";
import { checkCallbackUrl, checkNotificationTarget, type CheckOutboundUrl } from "../notifications.js";
import { checkPollerConfiguration } from "../poller-settings.js";
import type { InstanceChanges } from "../store.js";
import { changingWrite, checkHooksTurnedOn, checkSecretsSentAgain, type CredentialChangeDeps } from "./credential-change.js";
import { fullConfiguration, present, seal, type InstanceAccess, type InstanceResult } from "./sealed-instance.js";

export interface UpdateInstanceDeps extends InstanceAccess, CredentialChangeDeps {
  checkOutboundUrl: CheckOutboundUrl;
}

export async function updateInstance(
  deps: UpdateInstanceDeps,
  caller: Caller,
  id: number,
  patch: UpdateInstanceRequest,
  ifMatch: string | undefined,
): Promise<InstanceResult> {
  await checkCallbackUrl(deps.checkOutboundUrl, patch.configuration);
  const written = await changingWrite(deps, { caller, id, ifMatch }, async (record, checkedChange) => {
    const changes: InstanceChanges = { name: patch.name, tags: patch.tags, disabled: patch.disabled };
    if (patch.configuration === undefined) return changes;
    const connector = deps.registry.require(record.connectorKey);
    // Every name the patch sends, to set or to remove, must be one of the connector's entries.
    deps.registry.checkEntryNames(connector.key, Object.keys(patch.configuration));
    // A Map, then fromEntries: keys such as __proto__ stay plain data and fail validation.
    const before = fullConfiguration(deps, record);
    const merged = new Map(Object.entries(before));
    for (const [key, value] of Object.entries(patch.configuration)) {
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    const configuration = Object.fromEntries(merged);
    deps.registry.checkConfiguration(connector.key, configuration);
    checkNotificationTarget(connector.key, configuration);
    checkPollerConfiguration(connector, configuration);
    checkHooksTurnedOn(deps, connector, before, configuration);
    const supplied = new Set(Object.entries(patch.configuration).flatMap(([key, value]) => (value === null ? [] : [key])));
    checkSecretsSentAgain(deps, connector, before, configuration, supplied);
    return {
      ...changes,
      ...seal(deps, connector, record.organizationId, configuration),
      ...(await checkedChange(connector, record, before, configuration, supplied)),
    };
  });
  return present(deps, written.record);
}
