// The event outbox: what an instance write records, in its own transaction, for the dispatcher to
// deliver after the commit. The instance stores hand an `EventWriter` (one per dialect) the
// `EventDraft` the write's follow-ups worked out, plain data; the dispatcher then claims and
// delivers the rows. Nothing here knows the instance beyond its ids.
import { randomBytes } from "../secrets/random-bytes.js";
import type { InstanceBody } from "../api-types.js";
import type { ClaimFairness } from "../database/claim-fairness.js";
import type { TestEventLimit, TestEventWait } from "./test-events.js";

export const eventTypes = [
  "instance.created",
  "instance.updated",
  "instance.token_rotated",
  "instance.deleted",
  "instance.invalid",
  "instance.valid",
  "instance.test",
  "vendor.record.created",
  "vendor.record.updated",
] as const;
export type EventType = (typeof eventTypes)[number];

/** The events of a change in the vendor's data, found by polling it (polling/). */
export type VendorEventType = Extract<EventType, `vendor.${string}`>;

/** What a vendor event says: which record of which resource changed, when, and the record as the vendor gave it. */
export interface VendorRecordChange {
  instanceId: number;
  resource: string;
  recordId: string;
  /** When the vendor says it changed (ISO 8601). */
  changedAt: string;
  /** The record as the vendor gave it; null when it is larger than the poller's cap (`recordTooLarge: true` then). */
  record: unknown;
  recordTooLarge?: true;
  /** No vendor changed anything: the change was asked of a simulated vendor (POST /instances/{id}/events/simulated-change). */
  simulated?: true;
}

/** The event a write records, worked out from the record as written (as it was, for a delete). */
export interface EventDraft {
  type: EventType;
  /**
   * Where the instance's notifications go and the instance as the API shows it (secrets masked,
   * no token); undefined when its notifications are off.
   */
  notification?: { data: InstanceBody | VendorRecordChange; callbackUrl: string };
  /** A new signing secret for the instance, sealed for it (on create and on token rotation). */
  newSigningSecret?: string;
}

/** The instance an event is about: all the outbox knows of it. */
export interface EventSubject {
  organizationId: number;
  id: number;
}

/**
 * Records a draft in the transaction of the write that caused it (SQLite: synchronously, inside
 * the group commit's work); true when it enqueued a delivery (the dispatcher has work).
 */
export interface SqliteEventWriter {
  record(draft: EventDraft, subject: EventSubject): boolean;
  /** Records a test event as `record` does, unless `limit` holds it back (test-events.ts). */
  recordTest(draft: EventDraft, subject: EventSubject, limit: TestEventLimit): TestEventRecorded;
}

/**
 * What recording a test event came to: its delivery as stored (pending), or none (notifications
 * off, or an instance without a signing secret); or the limit's wait.
 */
export type TestEventRecorded = { enqueued: Delivery | undefined } | { wait: TestEventWait };

export type DeliveryStatus = "pending" | "delivered" | "failed" | "dropped";

/** A delivery row as the stores read it. */
export interface Delivery {
  id: number;
  organizationId: number;
  instanceId: number;
  webhookId: string;
  eventType: EventType;
  /** The body, exactly as signed and sent. */
  payload: string;
  /** The instance's current signing secret (as of its last rotation), sealed. */
  sealedSecret: string;
  /** The instance's retired signing secrets as JSON (RetiredSecret[], newest first), or null for none. */
  retiredSecrets: string | null;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  /** Milliseconds since the epoch, for these and the others. */
  createdAt: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  /** The receiver's HTTP status of the last attempt, when it answered. */
  lastStatus: number | null;
  lastError: string | null;
}

/** The columns of a delivery as both dialects read them. */
export const deliveryColumns = `id, organization_id AS "organizationId", instance_id AS "instanceId", webhook_id AS "webhookId",
  event_type AS "eventType", payload, secret AS "sealedSecret", retired_secrets AS "retiredSecrets", url, status, attempts, created_at AS "createdAt",
  next_attempt_at AS "nextAttemptAt", last_attempt_at AS "lastAttemptAt", last_status AS "lastStatus", last_error AS "lastError"`;

/** What an attempt came to, as the dispatcher records it. */
export interface AttemptOutcome {
  attemptAt: number;
  status: number | undefined;
  error: string | undefined;
  /** Delivered: a 2xx. */
  delivered: boolean;
  /** When to try again; undefined after a success, or when the retry horizon has passed (failed). */
  nextAttemptAt: number | undefined;
}

/** The outbox as the dispatcher and the deliveries listing see it; the same on SQLite and PostgreSQL. */
export interface EventStore {
  /**
   * Leases up to `limit` due deliveries to `owner` until `leaseUntil`: for each instance only its
   * oldest pending one (events go out in order), and none another replica holds; shared
   * round-robin across organizations (at most `fairness.perOrganization` of one, none of
   * `fairness.skip`).
   */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number, fairness?: ClaimFairness): Promise<Delivery[]>;
  /**
   * Records an attempt, if `owner` still holds the lease; resolves once it has committed. Attempts
   * recorded at about the same time share a transaction (recorded-together.ts, the group commit).
   */
  recordAttempt(id: number, owner: string, outcome: AttemptOutcome): Promise<void>;
  /** An instance's deliveries, newest first. */
  listForInstance(organizationId: number, instanceId: number, limit: number): Promise<Delivery[]>;
  /** The instance's newest dropped delivery older than `beforeId`, if any. */
  newestDropped(organizationId: number, instanceId: number, beforeId: number): Promise<Delivery | undefined>;
  /** Forgets the deliveries settled (delivered, failed, dropped) whose event is older than `createdBefore`; returns how many. */
  pruneSettled(createdBefore: number): Promise<number>;
}

/** Why pending deliveries were dropped, as the listing says. */
export const droppedReason = "notifications were turned off before this event was delivered";
export const deletedReason = "the instance was deleted before this event was delivered";
/** Why the oldest pending deliveries were dropped when an event would have passed the cap. */
export function overflowReason(maxPendingPerInstance: number): string {
  return `more than ${maxPendingPerInstance} of the instance's events were pending before this one was delivered`;
}

/** A signing secret a rotation replaced, sealed, and when (ms since the epoch). */
export interface RetiredSecret {
  sealed: string;
  retiredAt: number;
}

/** An instance's signing secrets, sealed: the current one, and those retired within `retiredSecretsSignFor`. */
interface SigningSecrets {
  current: string;
  retired: RetiredSecret[];
}

/**
 * A retired secret still signs for this long after its rotation, so that a receiver that has not
 * moved to the new secret yet (or has, while older deliveries are pending) verifies every attempt.
 */
export const retiredSecretsSignFor = 24 * 3_600_000;
/**
 * At most this many retired secrets sign an attempt, the newest: a tenant rotating in a loop must
 * not grow the `webhook-signature` header past what receivers accept (each entry is ~48 bytes).
 */
export const retiredSecretsKept = 10;

/** The retired secrets as stored (JSON), or null for none. */
export function storedRetired(retired: readonly RetiredSecret[]): string | null {
  return retired.length === 0 ? null : JSON.stringify(retired);
}

/** The retired secrets still signing at `at`, from their stored JSON, newest first. */
export function retiredSigning(stored: string | null, at: number): RetiredSecret[] {
  if (stored === null) return [];
  const retired = JSON.parse(stored) as RetiredSecret[];
  return retired.filter((secret) => secret.retiredAt > at - retiredSecretsSignFor).slice(0, retiredSecretsKept);
}

/** The sealed secrets that sign an attempt of `delivery` at `at`: the current one first, then the retired ones still signing. */
export function secretsSigning(delivery: Pick<Delivery, "sealedSecret" | "retiredSecrets">, at: number): string[] {
  return [delivery.sealedSecret, ...retiredSigning(delivery.retiredSecrets, at).map((secret) => secret.sealed)];
}

/** A Standard Webhooks message id: unique per event, the same on every attempt. */
export function newWebhookId(): string {
  return `msg_${randomBytes(16).toString("base64url")}`;
}

/**
 * The body Standard Webhooks describes: `{"type", "timestamp", "data"}`; a test event says so with
 * `"test": true` beside them, so that `data` stays the instance exactly as the API shows it.
 */
export function eventPayload(type: EventType, data: InstanceBody | VendorRecordChange, at: Date): string {
  const timestamp = at.toISOString();
  return JSON.stringify(type === "instance.test" ? { type, timestamp, test: true, data } : { type, timestamp, data });
}

/** The instance's signing secrets as its store keeps them: the current one and the retired ones' JSON. */
export interface StoredSecrets {
  sealed: string;
  retired: string | null;
}

/** A delivery to insert: a row before its first attempt. */
export type NewDelivery = Pick<
  Delivery,
  "organizationId" | "instanceId" | "webhookId" | "eventType" | "payload" | "sealedSecret" | "retiredSecrets" | "url" | "createdAt"
>;

/**
 * What recording a write's event does to the outbox, in this order; each writer runs the steps
 * that are set, in the write's transaction.
 */
export interface EventWrites {
  /** The instance's signing secrets to keep (a new one, on create and rotation). */
  saveSecrets?: { sealed: string; retired: string | null };
  /** On rotation: the secrets every pending delivery of the instance is signed with from now on. */
  resignPending?: { sealed: string; retired: string | null };
  /** Pending deliveries are dropped, for this reason (notifications off, or the instance deleted). */
  dropPending?: string;
  /** Pending deliveries follow the callback URL to where it points now. */
  redirectPending?: string;
  /**
   * Before the insert, the oldest pending deliveries are dropped, for this reason, but the newest
   * `keep` (and one being sent at that moment, whose attempt decides it): with the insert, at most
   * the cap are pending.
   */
  dropOverflow?: { keep: number; reason: string };
  /** A delivery, pending; then the instance's oldest pending delivery is its head (the one sent next). */
  insert?: NewDelivery;
  /** The instance is gone: its stored secrets with it (its deliveries carry their own copies). */
  forgetSecrets: boolean;
}

/**
 * What recording `draft` writes beside its instance's `record`, decided once for both databases. First
 * `needsStoredSecrets` says whether the writer must read the instance's stored secrets (to sign
 * the delivery with, or to retire the one a rotation replaces; a create reads nothing); then
 * `writes(stored)` says what to write. A rotation retires the stored secret and re-signs the
 * pending deliveries with the new set; a delivery carries the instance's current and retired
 * secrets; notifications off drop the pending deliveries; a delete drops them too, except the
 * instance.deleted it records (attempted once, see attempt-outcome.ts). A test event changes
 * nothing: it only joins the pending ones. Every insert keeps the instance's pending deliveries
 * within `maxPendingPerInstance`, dropping the oldest.
 */
export function eventRecording(draft: EventDraft, record: EventSubject, now: Date, maxPendingPerInstance: number) {
  const newSecret = draft.newSigningSecret;
  const described = draft.notification;
  // A new instance has no pending deliveries, so a create runs no statement for them; nor does a
  // test event, which is no change (and is only recorded while notifications are on), nor a change
  // at the vendor's, which changes nothing about the instance.
  const touchesPending = draft.type !== "instance.created" && draft.type !== "instance.test" && !draft.type.startsWith("vendor.");
  const rotates = newSecret !== undefined && touchesPending;
  const deletes = draft.type === "instance.deleted";
  return {
    needsStoredSecrets: rotates || (described !== undefined && newSecret === undefined),
    writes(stored: StoredSecrets | undefined): EventWrites {
      const secrets = instanceSecrets(newSecret, stored, now.getTime());
      const kept = secrets && { sealed: secrets.current, retired: storedRetired(secrets.retired) };
      const writes: EventWrites = { forgetSecrets: deletes };
      if (newSecret !== undefined) writes.saveSecrets = kept;
      if (described === undefined || kept === undefined) {
        if (touchesPending) writes.dropPending = deletes ? deletedReason : droppedReason;
        return writes;
      }
      if (rotates) writes.resignPending = kept;
      if (deletes) writes.dropPending = deletedReason;
      else {
        if (touchesPending) writes.redirectPending = described.callbackUrl;
        // After a delete's drop nothing is pending: no statement for the cap.
        writes.dropOverflow = { keep: maxPendingPerInstance - 1, reason: overflowReason(maxPendingPerInstance) };
      }
      writes.insert = {
        organizationId: record.organizationId,
        instanceId: record.id,
        webhookId: newWebhookId(),
        eventType: draft.type,
        payload: eventPayload(draft.type, described.data, now),
        sealedSecret: kept.sealed,
        retiredSecrets: kept.retired,
        url: described.callbackUrl,
        createdAt: now.getTime(),
      };
      return writes;
    },
  };
}

/** The instance's secrets after a write: a new one retires the stored one (and those past the window fall away). */
function instanceSecrets(newSecret: string | undefined, stored: StoredSecrets | undefined, now: number): SigningSecrets | undefined {
  const retired = stored === undefined ? [] : retiredSigning(stored.retired, now);
  if (newSecret === undefined) return stored && { current: stored.sealed, retired };
  if (stored === undefined) return { current: newSecret, retired: [] };
  return { current: newSecret, retired: [{ sealed: stored.sealed, retiredAt: now }, ...retired].slice(0, retiredSecretsKept) };
}
