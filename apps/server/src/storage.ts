// The composition root of storage: it picks the store (SQLite, the embedded default, or PostgreSQL
// for a postgres:// DATABASE_URL) and opens one small interface per domain. It sits above the
// domains and the drivers (database/), so that no arrow runs back up from a driver to a domain.
import type { AccountStore } from "./accounts/store.js";
import { postgresAccountStore } from "./accounts/postgres-account-store.js";
import { defaultEventDelivery, defaultSqliteReaders, type EventDeliveryConfig, type StorageConfig } from "./config.js";
import type { EventStore } from "./events/outbox.js";
import { postgresEventStore, postgresEventWriter } from "./events/postgres-event-store.js";
import { postgresInstanceStore } from "./instances/postgres-instance-store.js";
import type { InstanceStore } from "./instances/store.js";
import type { KeyCheckStore } from "./secrets/key-check.js";
import { postgresRefreshStore } from "./instances/postgres-refresh-store.js";
import type { RefreshStore } from "./instances/refresh-store.js";
import type { PollStore } from "./polling/poll-store.js";
import { postgresPollStore } from "./polling/postgres-poll-store.js";
import { postgresKeyCheckStore } from "./secrets/postgres-key-check-store.js";
import { gatherPostgresStatistics, guarded, openPostgres } from "./database/postgres.js";
import { openSqliteStorage } from "./sqlite-storage.js";

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
  /**
   * Resolves, with the cause, when the storage can no longer serve and the process should end for
   * its supervisor to start it again: on SQLite, a worker thread that died (sqlite-storage.ts).
   * Never on PostgreSQL, whose pool connects again by itself.
   */
  lost: Promise<Error>;
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
      lost: new Promise<never>(() => {}),
      close: () => pool.end(),
    };
  }
  return openSqliteStorage(config.file, events.maxPendingPerInstance, config.readers ?? defaultSqliteReaders);
}
