// Group commit for SQLite. better-sqlite3 is synchronous and synchronous=FULL syncs the WAL on
// every commit, so one write per transaction caps writes at one fsync each while the event loop
// waits. Writes that arrive in the same turn of the event loop are run in one transaction, each
// in its own savepoint (one failing does not undo the others), and every promise settles only
// after that transaction has committed: nothing is acknowledged before it is on disk.
import type { SqliteDatabase } from "./sqlite.js";

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export type GroupCommit = <T>(work: () => T) => Promise<T>;

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export function groupCommit(db: SqliteDatabase): GroupCommit {
  let pending: Pending[] = [];
  // Both made once (making a transaction function costs more than a small write): called inside
  // the batch's transaction, better-sqlite3 runs `inSavepoint` as a savepoint.
  const inSavepoint = db.transaction((work: () => unknown) => work());
  const runBatch = db.transaction((batch: Pending[]) => {
    const outcomes: Outcome[] = [];
    for (const { work } of batch) {
      try {
        outcomes.push({ ok: true, value: inSavepoint(work) });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  });

  const flush = () => {
    const batch = pending;
    pending = [];
    let outcomes: Outcome[];
    try {
      outcomes = runBatch.immediate(batch);
    } catch (error) {
      for (const item of batch) item.reject(error); // the commit failed: nothing of it is kept
      return;
    }
    batch.forEach((item, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  };

  return <T>(work: () => T) =>
    new Promise<T>((resolve, reject) => {
      pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (pending.length === 1) setImmediate(flush);
    });
}
