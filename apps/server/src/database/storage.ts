// The storage behind the server: one small interface per domain, opened from the configuration.
// SQLite is the embedded default; PostgreSQL is chosen by a postgres:// DATABASE_URL.
import { sqliteAccountStore } from "../accounts/sqlite-account-store.js";
import type { AccountStore } from "../accounts/store.js";
import type { StorageConfig } from "../config.js";
import { ConfigError } from "../config.js";
import { sqliteInstanceStore } from "../instances/sqlite-instance-store.js";
import type { InstanceStore } from "../instances/store.js";
import { openSqlite } from "./sqlite.js";

export interface Storage {
  accounts: AccountStore;
  instances: InstanceStore;
  /** Resolves when the database answers; for the health check. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export function openStorage(config: StorageConfig): Storage {
  if (config.kind === "postgres") {
    throw new ConfigError("DATABASE_URL names PostgreSQL, which this version of the server does not support yet; use sqlite:<file> or leave it unset");
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
