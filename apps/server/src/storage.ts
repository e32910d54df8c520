// The composition root of storage: it picks the store (SQLite, the embedded default, or PostgreSQL
// for a postgres:// DATABASE_URL) and opens one small interface per domain. It sits above the
// domains and the drivers (database/), so that no arrow runs back up from a driver to a domain.
import { sqliteAccountStore } from "./accounts/sqlite-account-store.js";
import type { AccountStore } from "./accounts/store.js";
import { postgresAccountStore } from "./accounts/postgres-account-store.js";
import { defaultEventDelivery, type EventDeliveryConfig, type StorageConfig } from "./config.js";
import type { EventStore } from "./events/outbox.js";
import { postgresEventStore, postgresEventWriter } from "./events/postgres-event-store.js";
import { sqliteEventStore, sqliteEventWriter } from "./events/sqlite-event-store.js";
import { postgresInstanceStore } from "./instances/postgres-instance-store.js";
import { sqliteInstanceStore } from "./instances/sqlite-instance-store.js";
import type { InstanceStore } from "./instances/store.js";
import type { KeyCheckStore } from "./secrets/key-check.js";
import { postgresRefreshStore } from "./instances/postgres-refresh-store.js";
import type { RefreshStore } from "./instances/refresh-store.js";
import { sqliteRefreshStore } from "./instances/sqlite-refresh-store.js";
import type { PollStore } from "./polling/poll-store.js";
import { postgresPollStore } from "./polling/postgres-poll-store.js";
import { sqlitePollStore } from "./polling/sqlite-poll-store.js";
import { postgresKeyCheckStore } from "./secrets/postgres-key-check-store.js";
import { sqliteKeyCheckStore } from "./secrets/sqlite-key-check-store.js";
import { groupCommit } from "./database/group-commit.js";
import { gatherPostgresStatistics, guarded, openPostgres } from "./database/postgres.js";
import { gatherSqliteStatistics, isStorageFault, openSqlite, probeSqlite, storageFaultError } from "./database/sqlite.js";

export interface Storage {
  accounts: AccountStore;
  instances: InstanceStore;
  /** The event outbox, for the dispatcher and the deliveries listing. */
  events: EventStore;
  keyCheck: KeyCheckStore;
  /** Due token refreshes, claimed by one replica at a time. */
  refreshes: RefreshStore;
  /** The polls of vendors for changes: schedules, claims, checkpoints. */
  polls: PollStore;
  /**
   * Brings the query planner's statistics up to date where many rows changed since they were
   * gathered (or never were): SQLite's PRAGMA optimize; ANALYZE of those tables on PostgreSQL.
   */
  gatherStatistics(): Promise<void>;
  /** Resolves when the database answers a read of the instances table; for the health check. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The storage `config` names; each write keeps at most `events.maxPendingPerInstance` of an instance's deliveries pending. */
export async function openStorage(
  config: StorageConfig,
  events: Pick<EventDeliveryConfig, "maxPendingPerInstance"> = defaultEventDelivery,
): Promise<Storage> {
  if (config.kind === "postgres") {
    const pool = await openPostgres(config.url);
    const eventWriter = postgresEventWriter(events.maxPendingPerInstance);
    const instances = postgresInstanceStore(pool, eventWriter);
    return {
      accounts: postgresAccountStore(pool),
      instances,
      events: postgresEventStore(pool),
      keyCheck: { ...postgresKeyCheckStore(pool), samples: () => instances.sealedSamples() },
      refreshes: postgresRefreshStore(pool),
      polls: postgresPollStore(pool, eventWriter),
      gatherStatistics: () => guarded(async () => void (await gatherPostgresStatistics(pool))),
      ping: () => instances.readNewest(),
      close: () => pool.end(),
    };
  }
  const db = openSqlite(config.file);
  const eventWriter = sqliteEventWriter(db, events.maxPendingPerInstance);
  // One group commit for every write of the instances and their polls: a refresh's claim and its
  // write, a poll's page and its events, share syncs.
  const commit = groupCommit(db);
  const instances = sqliteInstanceStore(db, eventWriter, commit);
  return {
    accounts: answeringStorageFaults(sqliteAccountStore(db)),
    instances: answeringStorageFaults(instances),
    events: answeringStorageFaults(sqliteEventStore(db)),
    keyCheck: { ...sqliteKeyCheckStore(db), samples: () => instances.sealedSamples() },
    refreshes: sqliteRefreshStore(db, commit),
    polls: sqlitePollStore(db, eventWriter, commit),
    ping: () => {
      probeSqlite(config.file);
      return Promise.resolve();
    },
    // Later, not now: SQLite's errors (a damaged or vanished file) reject rather than throw.
    gatherStatistics: () => Promise.resolve().then(() => gatherSqliteStatistics(db)),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}

/**
 * The store, with SQLite's storage faults (a damaged, missing or read-only file, a failing or full disk)
 * turned into a 503: the code is not at fault, the storage is, and a 503 tells a load balancer and
 * a client what /healthz tells them, as PostgreSQL being unreachable does.
 */
function answeringStorageFaults<T extends object>(store: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(store)) {
    if (typeof member !== "function") {
      wrapped[name] = member;
      continue;
    }
    const method = member as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        throw isStorageFault(error) ? storageFaultError(error) : error;
      }
    };
  }
  return wrapped as T;
}
