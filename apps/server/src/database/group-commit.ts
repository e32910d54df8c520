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

export function groupCommit(db: SqliteDatabase): GroupCommit {
  let pending: Pending[] = [];

  const flush = () => {
    const batch = pending;
    pending = [];
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    try {
      db.transaction(() => {
        for (const { work } of batch) {
          try {
            outcomes.push({ ok: true, value: db.transaction(work)() }); // nested: a savepoint
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
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
