// Opens the SQLite database: WAL, synchronous=FULL (a write is acknowledged only once it is on
// disk, so it survives a process crash and a power loss), foreign keys on, a busy timeout so the
// CLI can write while the server runs; then applies the pending migrations, each in a transaction.
// Before any of that it makes sure it may: the file and its directory are created readable by
// their owner only (SQLite gives the -wal and -shm files the database file's mode), and a file
// that fails SQLite's quick integrity check is refused, naming it, before anything is written.
import { accessSync, closeSync, constants, openSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { DatabaseUnavailableError } from "./errors.js";
import { StartupError, describeFileError } from "../startup-error.js";
import { makeDirectory } from "../make-directory.js";
import type { Migration } from "./migration.js";
import { sqliteMigrations } from "./sqlite-migrations.js";

export type SqliteDatabase = Database.Database;

export function openSqlite(file: string, migrations: Migration[] = sqliteMigrations): SqliteDatabase {
  createOwnerOnly(file);
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(file, { fileMustExist: true });
    checkIntegrity(db, file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db, migrations);
    // Each ANALYZE looks at this many rows of an index at most: milliseconds, however large the table.
    db.pragma(`analysis_limit = ${analysisLimit}`);
    return db;
  } catch (error) {
    db?.close();
    throw refusal(error, file);
  }
}

/**
 * A read-only connection to the file as the writer left it (checked and migrated). In WAL mode a
 * reader waits for no writer; `busyTimeoutMs` bounds the rare waits that remain (a checkpoint that
 * resets the WAL, another process holding the file in exclusive locking mode).
 */
export function openSqliteReader(file: string, busyTimeoutMs: number): SqliteDatabase {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  return db;
}

// SQLite's advice for statistics (PRAGMA optimize) on a connection held open for long: optimize
// when it opens and then now and then (gatherSqliteStatistics: the server's start, once nothing
// can refuse it, then every STATISTICS_INTERVAL_SECONDS), and after a schema change (the
// migrations come before the start's). The analysis limit keeps each ANALYZE to a sample (SQLite's
// docs: 100 to 1000 suits most applications).
const analysisLimit = 1000;

/**
 * Brings the query planner's statistics up to date where they are missing or stale: every table
 * is looked at (0x10000), and analyzed (0x02) if it never was or its size changed much since.
 * Usually nothing to do.
 */
export function gatherSqliteStatistics(db: SqliteDatabase): void {
  db.pragma("optimize = 0x10002");
}

/** The directory (0700) and the file (0600), unless they exist; then that they can be written. */
function createOwnerOnly(file: string): void {
  const dir = path.dirname(file);
  try {
    makeDirectory(dir, 0o700);
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK); // SQLite creates -wal and -shm there
  } catch (error) {
    throw new StartupError(`cannot use the data directory ${dir}: ${describeFileError(error)}`);
  }
  try {
    closeSync(openSync(file, "a", 0o600)); // "a": creates it if missing, never truncates; fails if not writable
  } catch (error) {
    throw new StartupError(`cannot open the database ${file}: ${describeFileError(error)}`);
  }
}

/** PRAGMA quick_check: every page of every table and index is read and its structure checked. */
function checkIntegrity(db: SqliteDatabase, file: string): void {
  const report = (db.pragma("quick_check") as { quick_check: string }[]).map((row) => row.quick_check).join("\n");
  if (report === "ok") return;
  const first = report.split("\n").find((line) => line && !line.startsWith("***")) ?? report;
  throw new StartupError(`the database ${file} is damaged (${first}); restore it from a backup, or move it away to start empty`);
}

function sqliteCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

/** Whether SQLite says the file is damaged: not a database, or a page that breaks its format. */
function isDamaged(error: unknown): boolean {
  const code = sqliteCode(error);
  return code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB";
}

/**
 * Whether the storage fails rather than our code: the file damaged, gone or read-only, the disk
 * failing or full.
 */
export function isStorageFault(error: unknown): boolean {
  const code = sqliteCode(error);
  return isDamaged(error) || ["SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_READONLY"].some((fault) => code.startsWith(fault));
}

/** For a request or the health check that met an unreadable file: 503, SQLite's error kept for the log. */
export function storageFaultError(cause: unknown): DatabaseUnavailableError {
  return new DatabaseUnavailableError(
    cause,
    "The database cannot be read or written (its file is damaged, gone or read-only, or the disk fails or is full); the operator must repair the storage",
  );
}

/**
 * Reads the newest instance through a connection of its own, so with an empty page cache: what the
 * file holds now, not what the server's connection read earlier. For the health check.
 */
export function probeSqlite(file: string): void {
  let probe: SqliteDatabase | undefined;
  try {
    probe = new Database(file, { readonly: true, fileMustExist: true });
    probe.prepare("SELECT id FROM instances ORDER BY id DESC LIMIT 1").get();
  } catch (error) {
    throw isStorageFault(error) ? storageFaultError(error) : error;
  } finally {
    probe?.close();
  }
}

function refusal(error: unknown, file: string): unknown {
  if (error instanceof StartupError) return error;
  const { code, message } = error as { code?: string; message?: string };
  if (isDamaged(error))
    return new StartupError(`the database ${file} is damaged (${message}); restore it from a backup, or move it away to start empty`);
  if (code === "SQLITE_CANTOPEN" || code?.startsWith("SQLITE_READONLY") || code?.startsWith("SQLITE_IOERR"))
    return new StartupError(`cannot open the database ${file}: ${message}`);
  return error;
}

function migrate(db: SqliteDatabase, migrations: Migration[]): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
  const applied = new Set(db.prepare("SELECT version FROM schema_migrations").pluck().all() as number[]);
  // In version order, whatever the order of the list (versions may skip numbers).
  const pending = migrations.filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version);
  for (const migration of pending) {
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
