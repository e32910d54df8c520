// POST /instances: the credentials checked with the vendor first (nothing is stored when they are
// refused or it cannot be asked), then the instance, its token and event signing secret (each
// shown once), instance.created, and, under an Idempotency-Key, the sealed answer its retries get.
import { createHash } from "node:crypto";
import { stringify } from "safe-stable-stringify";
import type { Caller } from "../../accounts/store.js";
import type { CreateInstanceBody } from "../../api-types.js";
import { newSigningSecret } from "../../events/signing-secret.js";
import { sealingContexts } from "../../secrets/contexts.js";
import { hashSecret, newToken } from "../../secrets/tokens.js";
import { IdempotencyKeyReusedError, IdempotentInstanceDeletedError } from "../errors.js";
import { checkCallbackUrl, checkNotificationTarget, type CheckOutboundUrl } from "../notifications.js";
import { checkPollerConfiguration } from "../poller-settings.js";
import { checkVendorHooksReceivable } from "../vendor-hook-settings.js";
import type { HookProvisioning } from "../../vendor-hooks/hook-provisioning.js";
import { etagOf } from "../representation.js";
import type { InstanceRecord, NewInstance } from "../store.js";
import type { Connector } from "../../connectors/registry.js";
import type { InstanceProvisioning, ProvisioningChanges } from "../instance-provisioning.js";
import { committed, eventDraft, present, seal, type InstanceAccess, type InstanceResult } from "./sealed-instance.js";

export interface CreateInstanceDeps extends InstanceAccess {
  provisioning: InstanceProvisioning;
  hooks: HookProvisioning;
  checkOutboundUrl: CheckOutboundUrl;
  /** How long an Idempotency-Key is remembered. */
  idempotencyKeyTtlSeconds: number;
}

export async function createInstance(
  deps: CreateInstanceDeps,
  caller: Caller,
  body: CreateInstanceBody,
  idempotencyKey: string | undefined,
): Promise<InstanceResult> {
  checkNotificationTarget(body.your_mom.key, body.configuration);
  // The body passed the spec's validator: it is one connector's create request.
  const connector = deps.registry.require(body.your_mom.key);
  checkPollerConfiguration(connector, body.configuration);
  await checkCallbackUrl(deps.checkOutboundUrl, body.configuration);
  checkVendorHooksReceivable(
    connector.key,
    connector.events,
    { ...connector.platformConfiguration, ...connector.defaults, ...body.configuration },
    deps.hooks.publicUrl,
  );
  // Before anything is stored: refused or unreachable, nothing is created (and a retry under
  // the same Idempotency-Key, which was not kept, checks again).
  const provisioned = await deps.provisioning.forCreate(connector, caller.organizationId, body.configuration);
  // Then the vendor's webhooks, with the credentials it has just accepted; a registration that
  // fails leaves none behind and creates nothing.
  const { credentials } = deps.provisioning.forUse(
    connector,
    { organizationId: caller.organizationId, connectorKey: connector.key, provisioning: undefined, refreshDueAt: null, ...provisioned },
    body.configuration,
  );
  const hooked = await deps.hooks.changes(connector, caller.organizationId, credentials, undefined, `new ${connector.key} instance`);
  let kept: { result: InstanceResult; replayed: boolean } | undefined;
  try {
    kept = await stored(deps, caller, body, idempotencyKey, connector, {
      ...provisioned,
      vendorHooks: hooked.vendorHooks ?? undefined,
      vendorHookHash: hooked.vendorHookHash ?? undefined,
    });
    return kept.result;
  } finally {
    // Not stored, or a replay (the first create's hooks are the instance's): this call's go.
    if (kept === undefined || kept.replayed)
      await deps.hooks.undo(connector, credentials, undefined, hooked, `new ${connector.key} instance`);
  }
}

async function stored(
  deps: CreateInstanceDeps,
  caller: Caller,
  body: CreateInstanceBody,
  idempotencyKey: string | undefined,
  connector: Connector,
  provisioned: ProvisioningChanges & Pick<NewInstance, "vendorHooks" | "vendorHookHash">,
): Promise<{ result: InstanceResult; replayed: boolean }> {
  const token = newToken();
  const eventSigningSecret = newSigningSecret();
  const instance: NewInstance = {
    organizationId: caller.organizationId,
    connectorKey: connector.key,
    name: body.name,
    tags: body.tags ?? [],
    ...seal(deps, connector, caller.organizationId, body.configuration),
    tokenHash: hashSecret(token),
    createdAt: new Date().toISOString(),
    ...provisioned,
  };
  const answer = (record: InstanceRecord): InstanceResult => {
    const result = present(deps, record, token);
    return { ...result, instance: { ...result.instance, eventSigningSecret } };
  };
  const event = (record: InstanceRecord) => eventDraft(deps, "instance.created", record, eventSigningSecret);

  if (idempotencyKey === undefined) {
    const outcome = await deps.store.create(instance, undefined, (record) => ({ event: event(record) }));
    if (!("created" in outcome)) throw new Error("a create without an idempotency key cannot be a replay");
    return { result: answer(committed(deps, outcome.created).record), replayed: false };
  }

  const requestHash = createHash("sha256")
    .update(stringify(body) ?? "")
    .digest("base64url");
  const context = sealingContexts.idempotentResponse(caller.organizationId, idempotencyKey);
  const outcome = await deps.store.create(
    instance,
    {
      key: idempotencyKey,
      requestHash,
      expiredBefore: new Date(Date.now() - deps.idempotencyKeyTtlSeconds * 1000).toISOString(),
    },
    (record) => ({ event: event(record), sealedResponse: deps.secretBox.seal(JSON.stringify(answer(record)), context) }),
  );
  if ("created" in outcome) return { result: answer(committed(deps, outcome.created).record), replayed: false };
  if (outcome.replay.requestHash !== requestHash) throw new IdempotencyKeyReusedError();
  const first = JSON.parse(deps.secretBox.open(outcome.replay.sealedResponse, context)) as InstanceResult;
  return { result: await replay(deps, caller, first), replayed: true };
}

/**
 * The answer to a retried create. The first answer, token included, only while the instance is
 * as it was created; once it has changed (its token may have been rotated), its current state
 * without a token; once it is deleted, a 409 that says so. A replay never hands out a token that
 * may have been revoked.
 */
async function replay(deps: InstanceAccess, caller: Caller, first: InstanceResult): Promise<InstanceResult> {
  const current = await deps.store.get(caller.organizationId, first.instance.id);
  if (!current) throw new IdempotentInstanceDeletedError(first.instance.id);
  return etagOf(current) === first.etag ? first : present(deps, current);
}
