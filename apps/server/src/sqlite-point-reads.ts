// Reads by key, on the event loop. A read through the primary key or a unique index (an instance by
// id, an Element token by its hash, an account by its secrets' hashes) is O(log n) and takes
// microseconds; sent to a reader thread it cost more than itself (a message each way, the copy
// back, a thread woken: tests/bench/README.md has the profile). So these few run here, on a
// read-only connection of the event loop's own, and everything that can walk (lists, scans) stays
// on the reader threads (sqlite-storage.ts).
//
// Each statement runs in a read transaction of its own (autocommit), which in WAL mode sees every
// transaction committed before it began: a write the writer thread has acknowledged is seen by the
// next read. This connection never waits for a lock (busy_timeout 0, so the event loop is never
// held by one): in the rare cases SQLite answers busy (a checkpoint resetting the WAL, another
// process holding the file in exclusive locking mode), the read goes to a reader thread, which may
// wait. A storage fault is the same 503 as from a thread.
import { sqliteAccountStore } from "./accounts/sqlite-account-store.js";
import type { AccountStore } from "./accounts/store.js";
import { isStorageFault, openSqliteReader, storageFaultError } from "./database/sqlite.js";
import { sqliteEventWriter } from "./events/sqlite-event-store.js";
import { sqliteInstanceStore } from "./instances/sqlite-instance-store.js";
import type { InstanceStore } from "./instances/store.js";
import type { StoreName } from "./sqlite-storage-protocol.js";

type Read = (...args: unknown[]) => Promise<unknown>;

export interface PointReads {
  /** The method's read on the event loop, which calls `elsewhere` when SQLite is busy; undefined for a method that is not a read by key. */
  method(store: StoreName, method: string, elsewhere: Read): Read | undefined;
  close(): void;
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/** `read`, but where SQLite is busy `elsewhere`, and a storage fault the 503 of an unavailable database. */
export function readInPlace(read: Read, elsewhere: Read): Read {
  return async (...args) => {
    try {
      return await read(...args);
    } catch (error) {
      if (isBusy(error)) return elsewhere(...args);
      throw isStorageFault(error) ? storageFaultError(error) : error;
    }
  };
}

/** The reads by key of `file` (already opened and migrated by the writer). */
export function openPointReads(file: string, maxPendingPerInstance: number): PointReads {
  const db = openSqliteReader(file, 0);
  // The stores' own statements and row parsing, on this connection; only their reads by key are used.
  const accounts: Pick<AccountStore, "findCaller"> = sqliteAccountStore(db);
  const instances: Pick<InstanceStore, "get" | "findByTokenHash"> = sqliteInstanceStore(db, sqliteEventWriter(db, maxPendingPerInstance));
  const reads: Partial<Record<StoreName, Record<string, Read>>> = {
    accounts: { findCaller: accounts.findCaller as Read },
    instances: { get: instances.get as Read, findByTokenHash: instances.findByTokenHash as Read },
  };
  return {
    method: (store, method, elsewhere) => {
      const read = reads[store]?.[method];
      return read && readInPlace(read, elsewhere);
    },
    close: () => db.close(),
  };
}
