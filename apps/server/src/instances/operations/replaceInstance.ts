// PUT /instances/{id}: a new name, tags and configuration for the instance, its connector kept;
// the credentials are checked again when they changed, and instance.updated is recorded.
import type { Caller } from "../../accounts/store.js";
import type { CreateInstanceBody } from "../../api-types.js";
import { ConnectorMismatchError } from "../errors.js";
import { checkCallbackUrl, checkNotificationTarget, type CheckOutboundUrl } from "../notifications.js";
import { checkPollerConfiguration } from "../poller-settings.js";
import { changingWrite, checkHooksTurnedOn, checkSecretsSentAgain, type CredentialChangeDeps } from "./credential-change.js";
import { fullConfiguration, present, seal, type InstanceAccess, type InstanceResult } from "./sealed-instance.js";

export interface ReplaceInstanceDeps extends InstanceAccess, CredentialChangeDeps {
  checkOutboundUrl: CheckOutboundUrl;
}

export async function replaceInstance(
  deps: ReplaceInstanceDeps,
  caller: Caller,
  id: number,
  body: CreateInstanceBody,
  ifMatch: string | undefined,
): Promise<InstanceResult> {
  checkNotificationTarget(body.your_mom.key, body.configuration);
  checkPollerConfiguration(deps.registry.require(body.your_mom.key), body.configuration);
  await checkCallbackUrl(deps.checkOutboundUrl, body.configuration);
  const written = await changingWrite(deps, { caller, id, ifMatch }, async (record, checkedChange) => {
    if (body.your_mom.key !== record.connectorKey) throw new ConnectorMismatchError(record.connectorKey, body.your_mom.key);
    const connector = deps.registry.require(record.connectorKey);
    const before = fullConfiguration(deps, record);
    const supplied = new Set(Object.keys(body.configuration));
    checkSecretsSentAgain(deps, connector, before, body.configuration, supplied);
    checkHooksTurnedOn(deps, connector, before, body.configuration);
    return {
      name: body.name,
      tags: body.tags ?? [],
      ...seal(deps, connector, record.organizationId, body.configuration),
      ...(await checkedChange(connector, record, before, body.configuration, supplied)),
    };
  });
  return present(deps, written.record);
}
