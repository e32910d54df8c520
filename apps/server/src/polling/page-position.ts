// Where the poll of one resource stands after a page of the vendor's listing, worked out without
// the network or the database (x-connector.events `orderedByChange`). A listing ordered by change
// time, oldest first, moves the checkpoint with each page (the page's newest change), and is asked
// again from there. A listing in another order (Freshservice's, by creation) may hold an older
// change on a later page, so its checkpoint moves only once the whole listing has been read: until
// then each page is committed with the listing's place (`pass`: the next page, the newest change
// read so far), and a poll that stops midway resumes there. When the pass ends, the checkpoint is
// its newest change, but never later than the second the pass began: a record changed while the
// pass was under way, listed on a page already read, is then asked for again (sent twice at most,
// never lost).
import { pageChanges, toSecond, type Checkpoint, type RecordFields, type VendorChange } from "./vendor-changes.js";

/** Where a page starts in the listing: records to skip, and its number from 1. */
export interface PagePosition {
  offset: number;
  page: number;
}

export interface PageRead {
  records: readonly unknown[];
  /** The vendor said no page follows. */
  last: boolean;
  /** The checkpoint the page was asked from, and where the page started. */
  checkpoint: Checkpoint;
  position: PagePosition;
  fields: RecordFields;
  /** The checkpoint the poll began from: a record created at or after it is `created`. */
  windowStart: number;
  orderedByChange: boolean;
  /** Epoch ms: now, the start of a pass that begins with this page. */
  now: number;
  /** Epoch ms: when the vendor answered the page; a change dated later is the vendor's clock or a lie, left for a later poll. */
  fetchedAt: number;
}

export interface AfterPage {
  changes: VendorChange[];
  checkpoint: Checkpoint;
  /** The checkpoint changed: commit it with the changes. */
  moved: boolean;
  /** The listing is read to its end. */
  done: boolean;
  /** Where the next page starts. */
  position: PagePosition;
}

const first: PagePosition = { offset: 0, page: 1 };

/**
 * Pages of one pass read poll after poll, without waiting the interval; past this, the rest of the
 * pass is read a poll per interval. A pass moves with every page, so without it a listing whose
 * next page never ends (a vendor's fault, or a lie) would be asked for without pause, for ever.
 */
export const passPagesAtOnce = 100;

/** Whether `checkpoint` is a pass past the pages read without waiting. */
export function passOverrun(checkpoint: Checkpoint): boolean {
  return (checkpoint.pass?.page ?? 0) > passPagesAtOnce;
}

/** Where the next page of a resource starts: its pass's place, or the listing's start. */
export function positionOf(checkpoint: Checkpoint): PagePosition {
  return checkpoint.pass ? { offset: checkpoint.pass.offset, page: checkpoint.pass.page } : first;
}

export function afterPage(read: PageRead): AfterPage {
  const { records, checkpoint, position } = read;
  const done = read.last || records.length === 0;
  const base = { since: checkpoint.since, seen: checkpoint.seen };
  const { changes, next } = pageChanges(records, base, read.fields, read.windowStart, read.fetchedAt);
  const following = { offset: position.offset + records.length, page: position.page + 1 };
  if (read.orderedByChange) {
    const moved = next.since !== checkpoint.since || next.seen.length !== checkpoint.seen.length;
    // On the same second (a page of records all changed in one second), past the records read;
    // from a later one, asked again from the start.
    return { changes, checkpoint: next, moved, done, position: next.since === checkpoint.since ? following : first };
  }
  const newest = later(checkpoint.pass?.newest ?? base, next);
  const startedAt = checkpoint.pass?.startedAt ?? toSecond(read.now);
  if (done) {
    const settled = newest.since <= startedAt ? newest : { since: startedAt, seen: [] };
    return { changes, checkpoint: settled, moved: true, done, position: first };
  }
  return { changes, checkpoint: { ...base, pass: { ...following, newest, startedAt } }, moved: true, done, position: following };
}

/** The later of two checkpoints; on one second, the ids of both. */
function later(a: Checkpoint, b: Checkpoint): { since: number; seen: string[] } {
  if (a.since !== b.since) return a.since > b.since ? { since: a.since, seen: a.seen } : { since: b.since, seen: b.seen };
  return { since: a.since, seen: [...new Set([...a.seen, ...b.seen])] };
}
