// Opens the PostgreSQL pool for a DATABASE_URL: fails fast, with a message that names the
// database, when it cannot connect; applies pending migrations under an advisory lock; turns
// connection failures during a request into 503s (ServiceUnavailableError), and the pool
// reconnects by itself when the database is back.
import pg from "pg";
import { ConfigError } from "../config.js";
import { ServiceUnavailableError } from "../errors.js";
import { postgresMigrations } from "./postgres-migrations.js";
import type { Migration } from "./sqlite-migrations.js";

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
  // An idle client's connection dropping (a restart of the database) must not end the process.
  pool.on("error", () => undefined);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new ConfigError(`cannot connect to PostgreSQL at ${describeUrl(url)}: ${(error as Error).message}`);
  }
  try {
    await client.query("SELECT pg_advisory_lock($1)", [migrationLock]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
    const applied = new Set(rows.map((r) => r.version));
    for (const migration of migrations.filter((m) => !applied.has(m.version))) {
      await client.query("BEGIN");
      try {
        await client.query(migration.sql);
        await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [migration.version, migration.name, new Date().toISOString()]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [migrationLock]).catch(() => undefined);
    client.release();
  }
  return pool;
}

const unavailableCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "57P01", "57P02", "57P03", "53300"]);

/** Whether an error means the database cannot be reached now (rather than a fault of ours). */
function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && (unavailableCodes.has(code) || code.startsWith("08"))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(message ?? "");
}

/** Runs a database call, turning "the database is unreachable" into a 503. */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isUnavailable(error)) throw new ServiceUnavailableError();
    throw error;
  }
}

/** Runs `work` in a transaction on one client of the pool. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    if (isUnavailable(error)) broken = error as Error; // a dead connection is dropped, not reused
    else await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release(broken);
  }
}
