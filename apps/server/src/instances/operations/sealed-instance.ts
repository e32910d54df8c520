// What every instance operation shares: its dependencies, sealing a configuration's secrets and
// opening them, presenting a record as the API shows it, the event a write records, and the
// retrying write. The operations beside this file are each one function over these.
import type { Caller } from "../../accounts/store.js";
import type { InstanceBody } from "../../api-types.js";
import type { Connector, ConnectorRegistry } from "../../connectors/registry.js";
import { NotFoundError, PreconditionFailedError } from "../../errors.js";
import type { EventDraft, EventType } from "../../events/outbox.js";
import { shownState } from "../../provisioning/state.js";
import { sealingContexts } from "../../secrets/contexts.js";
import type { SecretBox } from "../../secrets/secret-box.js";
import { WriteConflictError } from "../errors.js";
import { notificationTarget } from "../notifications.js";
import { etagOf, ifMatchAccepts, instanceBody } from "../representation.js";
import type { FollowUps, InstanceChanges, InstanceRecord, InstanceStore, Written } from "../store.js";

export interface InstanceResult {
  instance: InstanceBody;
  etag: string;
}

/** What every operation reads and writes through. */
export interface InstanceAccess {
  store: InstanceStore;
  registry: ConnectorRegistry;
  secretBox: SecretBox;
  /** Called after a write that enqueued an event delivery has committed: the dispatcher's cue. */
  onEnqueued: () => void;
}

// A write is retried this often when other writers keep moving the version under it.
export const maxWriteAttempts = 5;

/** A configuration split into the entries kept in clear and the secret ones, sealed for the organization. */
export function seal(access: InstanceAccess, connector: Connector, organizationId: number, configuration: Record<string, string>) {
  const clear: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const [key, value] of Object.entries(configuration)) {
    if (connector.secretKeys.has(key)) secret[key] = value;
    else clear[key] = value;
  }
  return {
    configuration: clear,
    secretKeys: Object.keys(secret),
    sealedSecrets: access.secretBox.seal(JSON.stringify(secret), sealingContexts.instanceSecrets(organizationId)),
  };
}

/** The record's secret entries, in clear (in memory only). */
export function openSecrets(access: InstanceAccess, record: InstanceRecord): Record<string, string> {
  const opened = access.secretBox.open(record.sealedSecrets, sealingContexts.instanceSecrets(record.organizationId));
  return JSON.parse(opened) as Record<string, string>;
}

/** The caller's whole configuration: clear entries and secrets (in memory only). */
export function fullConfiguration(access: InstanceAccess, record: InstanceRecord): Record<string, string> {
  return { ...record.configuration, ...openSecrets(access, record) };
}

/** The record as the API shows it (secrets masked), with its ETag; the token only when it was just issued. */
export function present(access: InstanceAccess, record: InstanceRecord, token?: string): InstanceResult {
  const connector = access.registry.require(record.connectorKey);
  const secretKeys = record.secretKeys ?? Object.keys(openSecrets(access, record));
  return { instance: instanceBody(record, connector, secretKeys, token), etag: etagOf(record) };
}

/**
 * The follow-ups of a write that records `type`: the event, from the record as written, with the
 * instance shown as the API shows it (no token) when its notifications are on, and a new signing
 * secret sealed for the instance (on create and rotation).
 */
export function recordingEvent(access: InstanceAccess, type: EventType, signingSecret?: string): FollowUps {
  return (record) => ({ event: eventDraft(access, type, record, signingSecret) });
}

export function eventDraft(access: InstanceAccess, type: EventType, record: InstanceRecord, signingSecret?: string): EventDraft {
  // The target from the record's clear entries first: the instance is built only to be sent.
  const callbackUrl = notificationTarget(record.configuration);
  return {
    type,
    ...(callbackUrl === undefined ? {} : { notification: { data: present(access, record).instance, callbackUrl } }),
    ...(signingSecret === undefined
      ? {}
      : { newSigningSecret: access.secretBox.seal(signingSecret, sealingContexts.eventSigningSecret(record.organizationId, record.id)) }),
  };
}

/** After a write has committed: the dispatcher's cue, when it enqueued a delivery. */
export function committed<T extends { enqueued: boolean }>(access: InstanceAccess, written: T): T {
  if (written.enqueued) access.onEnqueued();
  return written;
}

/**
 * instance.invalid or instance.valid when these changes turn the instance's validity (a check
 * or a refresh the vendor refused, or one that succeeds again); undefined when they do not.
 */
export function validityEvent(record: InstanceRecord, changes: InstanceChanges): "instance.invalid" | "instance.valid" | undefined {
  if (changes.provisioning === undefined) return undefined;
  const before = shownState(record.provisioning).valid;
  const after = shownState(changes.provisioning).valid;
  if (before === after) return undefined;
  return after ? "instance.valid" : "instance.invalid";
}

export async function find(access: InstanceAccess, caller: Caller, id: number): Promise<InstanceRecord> {
  const record = await access.store.get(caller.organizationId, id);
  if (!record) throw new NotFoundError(`There is no instance ${id}`);
  return record;
}

export function checkIfMatch(ifMatch: string | undefined, record: InstanceRecord): void {
  if (ifMatch !== undefined && !ifMatchAccepts(ifMatch, record)) {
    throw new PreconditionFailedError(`If-Match ${ifMatch} does not match the instance's current ETag ${etagOf(record)}; read it again`);
  }
}

/** What a change's calls to the vendor were worked out from: the instance's credentials, provisioning state and vendor webhooks. */
export function credentialBasis(record: InstanceRecord): string {
  return JSON.stringify([record.configuration, record.sealedSecrets, record.provisioning ?? null, record.vendorHooks ?? null]);
}

export interface RetryingWrite {
  caller: Caller;
  id: number;
  ifMatch: string | undefined;
  /** The changes, from the record read; worked out once, whatever the retries. */
  change: (record: InstanceRecord) => InstanceChanges | Promise<InstanceChanges>;
  /** The event the write records unless it turns the instance's validity (then that event). */
  event: EventType;
  /** A new signing secret (rotation), sealed into the event's follow-ups. */
  signingSecret?: string;
}

/**
 * Read, change, write at the version read; again if another writer got in between (unless
 * If-Match pins it). The changes are worked out once: a change that asks the vendor never asks
 * it again on a retry. When the writer in between changed the instance's credentials, the
 * changes no longer apply: a 409.
 */
export async function retryingWrite(access: InstanceAccess, write: RetryingWrite): Promise<Written> {
  const { caller, id, ifMatch } = write;
  let worked: { basis: string; changes: InstanceChanges } | undefined;
  for (let attempt = 1; ; attempt++) {
    const record = await find(access, caller, id);
    checkIfMatch(ifMatch, record);
    const basis = credentialBasis(record);
    if (worked && worked.basis !== basis) throw new WriteConflictError();
    worked ??= { basis, changes: await write.change(record) };
    const { changes } = worked;
    const type = validityEvent(record, changes) ?? write.event;
    const outcome = await access.store.update(
      caller.organizationId,
      id,
      record.version,
      changes,
      recordingEvent(access, type, write.signingSecret),
    );
    if (outcome === "not-found") throw new NotFoundError(`There is no instance ${id}`);
    if (outcome !== "version-mismatch") return committed(access, outcome);
    if (ifMatch !== undefined)
      throw new PreconditionFailedError("The instance changed while this request was being applied; read it again");
    if (attempt >= maxWriteAttempts) throw new WriteConflictError();
  }
}
