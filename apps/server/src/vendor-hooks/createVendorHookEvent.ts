// createVendorHookEvent: what a vendor posts to an instance's receiving URL becomes a vendor event in
// the outbox. First the URL is looked up (findVendorHook): the instance whose secret it holds,
// hooked for the resource it names, within its rate; anything else is one 404. Then the post
// (takeVendorHook): its record read as the poller reads a page's (created or updated by its
// creation and change times), enqueued through the instances' event writer (the pending cap
// applies) while the instance still holds that secret. Nothing is forwarded anywhere else.
import type { VendorWebhooks } from "@instances-api/spec-tools";
import type { ConnectorRegistry } from "../connectors/registry.js";
import { ApiError, InvalidRequestError, problemType } from "../errors.js";
import { notificationTarget } from "../instances/notifications.js";
import type { InstanceStore } from "../instances/store.js";
import { vendorHookSettings } from "../instances/vendor-hook-settings.js";
import { draftOf } from "../polling/poll-instance.js";
import { maxRecordIdLength, recordIdOf, toSecond } from "../polling/vendor-changes.js";
import { valueAt } from "../provisioning/json-pointer.js";
import { expandTemplate, platformNames } from "../provisioning/templates.js";
import { hashSecret } from "../secrets/tokens.js";
import { HookRateLimitedError, NoSuchVendorHookError } from "./errors.js";
import type { HookRateLimit } from "./hook-rate-limit.js";

export interface VendorHookEventDeps {
  store: InstanceStore;
  registry: ConnectorRegistry;
  rateLimit: HookRateLimit;
  perInstancePerMinute: number;
  /** A record larger than this (as JSON) is sent without its fields, as the poller sends it. */
  recordMaxBytes: number;
  /** The dispatcher's cue, after a post enqueued a delivery. */
  onEnqueued: () => void;
}

/** A receiving URL that takes posts: its instance, what it watches, how to read a post. */
export interface VendorHook {
  organizationId: number;
  instanceId: number;
  hookHash: Buffer;
  resource: string;
  connectorKey: string;
  webhooks: VendorWebhooks;
  fields: { id: string; created: string; modified: string };
  callbackUrl: string;
}

/**
 * The receiving URL of `secret` for `resource`, or NoSuchVendorHookError. The secret is looked up
 * by its SHA-256 through a unique index: how long the lookup takes depends on the hash, which
 * tells nothing of a secret one does not already hold.
 */
export async function findVendorHook(deps: VendorHookEventDeps, secret: string, resource: string): Promise<VendorHook> {
  const hookHash = hashSecret(secret);
  const record = await deps.store.findByVendorHookHash(hookHash);
  const connector = record && deps.registry.get(record.connectorKey);
  if (!record || !connector || connector.events.type !== "polling" || connector.events.webhooks === undefined)
    throw new NoSuchVendorHookError();
  const values = { ...connector.platformConfiguration, ...connector.defaults, ...record.configuration };
  const settings = vendorHookSettings(connector.events, values);
  const callbackUrl = notificationTarget(values);
  if (!settings.hooked || !settings.resources.includes(resource) || callbackUrl === undefined) throw new NoSuchVendorHookError();
  const wait = deps.rateLimit.take(record.id);
  if (wait !== undefined) throw new HookRateLimitedError(deps.perInstancePerMinute, wait);
  const scope = { values, templates: platformNames(connector.platformConfiguration, values) };
  const expand = (template: string) => expandTemplate(connector.key, template, scope);
  const { events } = connector;
  return {
    organizationId: record.organizationId,
    instanceId: record.id,
    hookHash,
    resource,
    connectorKey: connector.key,
    webhooks: events.webhooks!,
    fields: { id: events.recordId, created: expand(events.createdTime), modified: expand(events.modifiedTime) },
    callbackUrl,
  };
}

/** Enqueues the event of the record `body` holds; NoSuchVendorHookError when the instance lost the secret meanwhile. */
export async function takeVendorHook(deps: VendorHookEventDeps, hook: VendorHook, body: Buffer): Promise<void> {
  let posted: unknown;
  try {
    posted = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ApiError(400, problemType("malformed-json"), "Malformed JSON", "The body is not valid JSON");
  }
  const record = valueAt(posted, hook.webhooks.record);
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    throw new InvalidRequestError(`The post holds no record at ${hook.webhooks.record}`, [
      { path: `/body${hook.webhooks.record}`, message: "must be the changed record, a JSON object" },
    ]);
  }
  const fields = record as Record<string, unknown>;
  // Own fields only, as the poller reads them: a name such as `constructor` never reads what every object inherits.
  const field = (name: string) => (Object.hasOwn(fields, name) ? fields[name] : undefined);
  const id = recordIdOf(field(hook.fields.id));
  const modifiedAt = timeOf(field(hook.fields.modified));
  if (id === undefined || Number.isNaN(modifiedAt)) {
    throw new InvalidRequestError(`The record needs its ${hook.fields.id} and a ${hook.fields.modified} date`, [
      {
        path: `/body${hook.webhooks.record}`,
        // Without the field names (the configuration's, of any length): the spec bounds this message to 129 characters.
        message: `must hold the record's id (at most ${maxRecordIdLength} characters) and its change date (ISO 8601)`,
      },
    ]);
  }
  // Created when it was saved in the second it was created (SugarCRM's after_save of a new record), else updated.
  const createdAt = timeOf(field(hook.fields.created));
  const created = !Number.isNaN(createdAt) && toSecond(createdAt) >= toSecond(modifiedAt);
  const draft = draftOf(
    { type: created ? "vendor.record.created" : "vendor.record.updated", recordId: id, changedAt: modifiedAt, record: fields },
    hook.instanceId,
    hook.resource,
    hook.callbackUrl,
    deps.recordMaxBytes,
  );
  const outcome = await deps.store.recordVendorEvents(hook.organizationId, hook.instanceId, hook.hookHash, [draft]);
  if (outcome === "not-found") throw new NoSuchVendorHookError();
  if (outcome.enqueued) deps.onEnqueued();
}

/** A vendor's date (ISO 8601 with an offset) as epoch ms; NaN for anything else. */
const timeOf = (value: unknown) => (typeof value === "string" ? Date.parse(value) : NaN);
