// Opens the SQLite database: WAL, synchronous=FULL (a write is acknowledged only once it is on
// disk, so it survives a process crash and a power loss), foreign keys on, a busy timeout so the
// CLI can write while the server runs; then applies the pending migrations, each in a transaction.
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { sqliteMigrations, type Migration } from "./sqlite-migrations.js";

export type SqliteDatabase = Database.Database;

export function openSqlite(file: string, migrations: Migration[] = sqliteMigrations): SqliteDatabase {
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db, migrations);
  return db;
}

function migrate(db: SqliteDatabase, migrations: Migration[]): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const applied = new Set((db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[]));
  for (const migration of migrations.filter((m) => !applied.has(m.version))) {
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    }).immediate();
  }
}
