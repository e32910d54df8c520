// The storage behind the server: one small interface per domain, opened from the configuration.
// SQLite is the embedded default; PostgreSQL is chosen by a postgres:// DATABASE_URL.
import { sqliteAccountStore } from "../accounts/sqlite-account-store.js";
import type { AccountStore } from "../accounts/store.js";
import { postgresAccountStore } from "../accounts/postgres-account-store.js";
import type { StorageConfig } from "../config.js";
import { postgresInstanceStore } from "../instances/postgres-instance-store.js";
import { sqliteInstanceStore } from "../instances/sqlite-instance-store.js";
import type { InstanceStore } from "../instances/store.js";
import { guarded, openPostgres } from "./postgres.js";
import { openSqlite } from "./sqlite.js";

export interface Storage {
  accounts: AccountStore;
  instances: InstanceStore;
  /** Resolves when the database answers; for the health check. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openStorage(config: StorageConfig): Promise<Storage> {
  if (config.kind === "postgres") {
    const pool = await openPostgres(config.url);
    return {
      accounts: postgresAccountStore(pool),
      instances: postgresInstanceStore(pool),
      ping: () => guarded(async () => void (await pool.query("SELECT 1"))),
      close: () => pool.end(),
    };
  }
  const db = openSqlite(config.file);
  return {
    accounts: sqliteAccountStore(db),
    instances: sqliteInstanceStore(db),
    ping: () => {
      db.prepare("SELECT 1").get();
      return Promise.resolve();
    },
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}
