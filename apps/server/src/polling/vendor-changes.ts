// What one page of a vendor's changed records comes to, worked out without the network or the
// database: the changes to send (each record changed after the checkpoint, or at its very second
// but not sent yet), created or updated, and the checkpoint after the page. The vendor is asked
// for records changed at or after the checkpoint's second, oldest first, so the page's newest
// change is the next checkpoint, and the ids already sent at that second are skipped next time.
// What a vendor answers is not trusted: a record dated after the page was fetched is left for a
// later poll (a record dated year 9999 would otherwise move the checkpoint past every change to
// come), an id is sent once per page however often it appears, and the ids kept for one second are
// bounded.
import type { VendorEventType } from "../events/outbox.js";

export interface RecordFields {
  id: string;
  created: string;
  modified: string;
}

export interface Checkpoint {
  /** Epoch ms, whole seconds: changes are asked for at or after this. */
  since: number;
  /** The ids already sent whose change is at `since`'s second. */
  seen: string[];
  /** A listing not ordered by change time, read partway (page-position.ts). */
  pass?: ListingPass;
}

/** How far a listing not ordered by change time has been read, from the checkpoint's `since`. */
export interface ListingPass {
  /** Where the next page starts. */
  offset: number;
  page: number;
  /** The newest change read so far in the listing, and the ids read at its second. */
  newest: { since: number; seen: string[] };
  /** Epoch ms, whole seconds: when the listing's first page was asked for. */
  startedAt: number;
}

export interface VendorChange {
  type: VendorEventType;
  recordId: string;
  /** Epoch ms, as the vendor gave it. */
  changedAt: number;
  record: Record<string, unknown>;
}

/**
 * The ids kept for one second at most. Past this many changes of one resource in one second (a
 * mass update), the checkpoint moves on to the next second: the rest of that second's changes not
 * read yet are missed, rather than a checkpoint that grows without end, or one whose every poll
 * spends its pages re-reading what it has sent.
 */
export const maxSeenPerSecond = 500;

/** The longest record id sent (the spec's VendorRecordChange.recordId bounds it). */
export const maxRecordIdLength = 1024;

/**
 * A record's id as events carry it, or undefined when it has none that can be trusted: a string
 * of 1 to 1024 characters, or an integer JSON reads exactly. A longer string would break the
 * spec's bound (and bloat the checkpoint's ids); a number past 2^53 is already rounded by JSON.parse,
 * so two records could share it and one's change be dropped as the other's.
 */
export function recordIdOf(value: unknown): string | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : undefined;
  return typeof value === "string" && value.length > 0 && value.length <= maxRecordIdLength ? value : undefined;
}

/** Whole seconds, as the vendor is asked (its filter takes dates to the second). */
export const toSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

/**
 * The page's changes and the checkpoint after it. A record is created when it was created at or
 * after `windowStart` (the checkpoint this poll began from: it did not exist at the last poll),
 * else updated. Records without an id or a readable change time are skipped, and so are those
 * changed after `notAfter` (epoch ms: when the page was fetched), until a later poll.
 */
export function pageChanges(
  records: readonly unknown[],
  checkpoint: Checkpoint,
  fields: RecordFields,
  windowStart: number,
  notAfter: number,
): { changes: VendorChange[]; next: Checkpoint } {
  const seen = new Set(checkpoint.seen);
  const sent = new Set<string>();
  let next: Checkpoint = { since: checkpoint.since, seen: [...checkpoint.seen] };
  const changes: VendorChange[] = [];
  for (const record of records) {
    if (record === null || typeof record !== "object" || Array.isArray(record)) continue;
    const fieldsOf = record as Record<string, unknown>;
    // Own fields only: a name such as `constructor` never reads what every object inherits.
    const field = (name: string) => (Object.hasOwn(fieldsOf, name) ? fieldsOf[name] : undefined);
    const recordId = recordIdOf(field(fields.id));
    const changedAt = timeOf(field(fields.modified));
    if (recordId === undefined || Number.isNaN(changedAt)) continue;
    const second = toSecond(changedAt);
    if (changedAt > notAfter || sent.has(recordId)) continue;
    if (second < checkpoint.since || (second === checkpoint.since && seen.has(recordId))) continue;
    sent.add(recordId);
    const createdAt = timeOf(field(fields.created));
    changes.push({
      type: !Number.isNaN(createdAt) && toSecond(createdAt) >= windowStart ? "vendor.record.created" : "vendor.record.updated",
      recordId,
      changedAt,
      record: fieldsOf,
    });
    if (second > next.since) next = { since: second, seen: [recordId] };
    else if (second === next.since && !next.seen.includes(recordId)) next.seen.push(recordId);
  }
  if (next.seen.length > maxSeenPerSecond) next = { since: next.since + 1000, seen: [] };
  return { changes, next };
}

/** A vendor's date (ISO 8601 with an offset) as epoch ms; NaN for anything else. */
const timeOf = (value: unknown) => (typeof value === "string" ? Date.parse(value) : NaN);

/** The checkpoint as a vendor's filter takes it: ISO 8601 to the second, in UTC (`2026-12-06T09:00:00+00:00`). */
export function sinceParameter(since: number): string {
  return new Date(toSecond(since)).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}
