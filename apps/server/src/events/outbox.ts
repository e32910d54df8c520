// The event outbox: what an instance write records, in its own transaction, for the dispatcher to
// deliver after the commit. The instance stores call an `EventWriter` (one per dialect) with the
// `EventIntent` the service passed them; the dispatcher then claims and delivers the rows.
import { randomBytes } from "../secrets/random-bytes.js";
import type { InstanceBody } from "../api-types.js";
import type { InstanceRecord } from "../instances/store.js";

export const eventTypes = [
  "instance.created",
  "instance.updated",
  "instance.token_rotated",
  "instance.deleted",
  "instance.invalid",
  "instance.valid",
] as const;
export type EventType = (typeof eventTypes)[number];

/** What a write tells its event writer: the event's type, and how to describe the record written. */
export interface EventIntent {
  type: EventType;
  /**
   * Where the instance's notifications go and the instance as the API shows it (secrets masked,
   * no token), built from the record as written (as it was, for a delete); undefined, and nothing
   * built, when its notifications are off.
   */
  describe: (record: InstanceRecord) => { data: InstanceBody; callbackUrl: string } | undefined;
  /** A new signing secret for the instance, sealed for it (on create and on token rotation). */
  sealNewSecret?: (record: InstanceRecord) => string;
  /** Set when recording the write made a delivery (see eventRecording): the dispatcher has work. */
  enqueued?: boolean;
}

/** Records an intent in the transaction of the write that caused it (SQLite: synchronously, inside the group commit's work). */
export interface SqliteEventWriter {
  record(intent: EventIntent, record: InstanceRecord): void;
}

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
  /** The signing secret, sealed. */
  sealedSecret: string;
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
   * oldest pending one (events go out in order), and none another replica holds.
   */
  claimDue(owner: string, now: number, leaseUntil: number, limit: number): Promise<Delivery[]>;
  /** Records an attempt, if `owner` still holds the lease. */
  recordAttempt(id: number, owner: string, outcome: AttemptOutcome): Promise<void>;
  /** An instance's deliveries, newest first. */
  listForInstance(organizationId: number, instanceId: number, limit: number): Promise<Delivery[]>;
  /** Forgets the deliveries settled (delivered, failed, dropped) whose event is older than `createdBefore`; returns how many. */
  pruneSettled(createdBefore: number): Promise<number>;
}

/** Why pending deliveries were dropped, as the listing says. */
export const droppedReason = "notifications were turned off before this event was delivered";

/** A Standard Webhooks message id: unique per event, the same on every attempt. */
export function newWebhookId(): string {
  return `msg_${randomBytes(16).toString("base64url")}`;
}

/** The body Standard Webhooks describes: `{"type", "timestamp", "data"}`. */
export function eventPayload(type: EventType, data: InstanceBody, at: Date): string {
  return JSON.stringify({ type, timestamp: at.toISOString(), data });
}

/**
 * What recording `intent` writes beside `record`, decided once for both databases: the instance's
 * new signing secret (sealed), if the write made one; whether the instance's stored secret must be
 * read (notifications on and no new secret); the delivery, given that secret, or undefined when
 * notifications are off (or the instance has no signing secret), in which case its pending
 * deliveries are dropped; and whether it may have pending deliveries to drop or redirect at all (a
 * new instance has none, so a create runs no statement for them).
 */
export function eventRecording(intent: EventIntent, record: InstanceRecord, now: Date) {
  const newSecret = intent.sealNewSecret?.(record);
  const described = intent.describe(record);
  return {
    newSecret,
    needsStoredSecret: described !== undefined && newSecret === undefined,
    mayHavePending: intent.type !== "instance.created",
    delivery(storedSecret?: string) {
      const sealedSecret = newSecret ?? storedSecret;
      if (described === undefined || sealedSecret === undefined) return undefined;
      intent.enqueued = true;
      return {
        organizationId: record.organizationId,
        instanceId: record.id,
        webhookId: newWebhookId(),
        eventType: intent.type,
        payload: eventPayload(intent.type, described.data, now),
        sealedSecret,
        url: described.callbackUrl,
        createdAt: now.getTime(),
      };
    },
  };
}
