// Opens the PostgreSQL pool for a DATABASE_URL: fails fast, with a message that names the
// database, when it cannot connect; applies pending migrations under an advisory lock. While the
// server runs, a database that goes away (sessions terminated, a restart, a crash) never ends the
// process: a call that meets it fails with DatabaseUnavailableError (the HTTP layer's 503), broken
// connections leave the pool, and the pool connects again by itself when the database is back.
// After migrations, and whenever asked (gatherPostgresStatistics), the planner's statistics are
// gathered where they are stale.
import pg from "pg";
import { ConfigError } from "../startup-error.js";
import { postgresMigrations } from "./postgres-migrations.js";
import type { Migration } from "./migration.js";
import { DatabaseUnavailableError } from "./errors.js";

// BIGINT (ids) as numbers: ids stay far below 2^53.
const builtinParser = pg.types.getTypeParser.bind(pg.types) as (oid: number) => (value: string) => unknown;
const types = {
  getTypeParser: ((oid: number) => (oid === 20 ? (value: string) => Number(value) : builtinParser(oid))) as typeof pg.types.getTypeParser,
};

const migrationLock = 7_262_011; // any constant: one advisory lock for this schema's migrations

/** The URL without its password, for messages. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = parsed.password ? "***" : "";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

export async function openPostgres(url: string, migrations: Migration[] = postgresMigrations): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, types });
  // The pool listens for errors of idle clients only (and drops those clients); this is for it to
  // tell us, and must not end the process.
  pool.on("error", () => undefined);
  // A client checked out of the pool emits 'error' on itself when its connection dies (57P01 from
  // pg_terminate_backend or a shutdown, ECONNRESET, end of stream), and with no listener that ends
  // the process (node-postgres #2439, #3202). So every client gets one for its whole life, from the
  // moment it connects: a listener attached after each checkout would come a microtask late, after
  // an error that arrived in the same read as the connection's ReadyForQuery. The error is not lost:
  // the query in flight fails with it, and any later query on the client with "not queryable".
  pool.on("connect", (client) => client.on("error", () => undefined));
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new ConfigError(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${(error as Error).message}`);
  }
  try {
    await withClient(pool, (client) => migrate(client, migrations));
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return pool;
}

/** Applies the pending migrations, each in its own transaction, under the advisory lock. */
async function migrate(client: pg.PoolClient, migrations: Migration[]): Promise<void> {
  // On failure withClient closes the session, which releases the lock and rolls back.
  await client.query("SELECT pg_advisory_lock($1)", [migrationLock]);
  await client.query(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
  );
  const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
  const applied = new Set(rows.map((r) => r.version));
  // In version order, whatever the order of the list (versions may skip numbers).
  const pending = migrations.filter((m) => !applied.has(m.version)).sort((a, b) => a.version - b.version);
  for (const migration of pending) {
    await client.query("BEGIN");
    await client.query(migration.sql);
    await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
      migration.version,
      migration.name,
      new Date().toISOString(),
    ]);
    await client.query("COMMIT");
  }
  // A migration may fill a table, or add the index a plan should take: the planner learns of it
  // now rather than when autovacuum next comes by (a table it has never analyzed is planned blind).
  if (pending.length > 0) await client.query("ANALYZE");
  await client.query("SELECT pg_advisory_unlock($1)", [migrationLock]);
}

/**
 * ANALYZE of this schema's tables whose rows changed much since they were last analyzed, or that
 * never were: more than 50 rows and a tenth of the table, autovacuum's own default threshold. A
 * backstop for autovacuum, which does the same when it runs (not at once, and not at all where it
 * is turned off). The names of the tables analyzed.
 */
export async function gatherPostgresStatistics(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `SELECT s.relname AS name FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema() AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)
     ORDER BY s.relname`,
  );
  for (const { name } of rows) await pool.query(`ANALYZE ${pg.escapeIdentifier(name)}`);
  return rows.map((row) => row.name);
}

// What says "the database cannot serve now" rather than "this request, or our code, is wrong":
const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
// SQLSTATE class 08 (connection exception); 53300 too many connections; 57P01 to 57P05: the session
// was ended by an administrator command or shutdown, by the crash of another backend, refused
// while the database starts up, shuts down or recovers, by a dropped database, by an idle timeout.
const unavailableStates = /^(08...|53300|57P0[1-5])$/;
// node-postgres's own words for a connection lost under a query, a client whose connection died
// earlier, and a pool that could not connect in time.
const driverMessages =
  /^(Connection terminated|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect)/;

function isUnavailable(error: unknown): boolean {
  const { code, severity, message } = (error ?? {}) as { code?: unknown; severity?: unknown; message?: unknown };
  if (typeof code === "string" && (networkCodes.has(code) || unavailableStates.test(code))) return true;
  // A FATAL error ends the session (PANIC, the whole server): whatever its code, the connection is gone.
  if (severity === "FATAL" || severity === "PANIC") return true;
  return typeof message === "string" && driverMessages.test(message);
}

// SQLSTATE 40P01 (deadlock detected) and 40001 (serialization failure): PostgreSQL chose this
// transaction to roll back so that another could go on. Nothing of it was kept, and the same call
// made again would most likely succeed: the caller is told to retry (a 503), not that the server
// failed (a 500).
const conflictStates = /^(40P01|40001)$/;
const isConflict = (error: unknown) => {
  const { code } = (error ?? {}) as { code?: unknown };
  return typeof code === "string" && conflictStates.test(code);
};

/** Runs a database call, turning "the database cannot serve now" into DatabaseUnavailableError. */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isUnavailable(error)) throw new DatabaseUnavailableError(error);
    if (isConflict(error)) throw new DatabaseUnavailableError(error, "The database gave way to another request meanwhile; retry this one");
    throw error;
  }
}

/**
 * Runs `work` on one client checked out of the pool. A client whose work failed is closed rather
 * than handed out again (as pool.query does): it may have lost its connection, or be left inside a
 * transaction. Closing the session rolls back whatever it had open and releases its locks.
 */
async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    // The pool also drops a client whose connection died after its work succeeded (not queryable).
    client.release(failure);
  }
}

/**
 * Runs `work` in a transaction on one client of the pool. When the connection dies while COMMIT is
 * in flight, nobody can know whether it committed: that is "unavailable" too (a 503, never a 200),
 * and a create retried with its Idempotency-Key then replays the first one if it did commit.
 */
export function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  });
}
