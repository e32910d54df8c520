// The PostgreSQL pool when connections die under it: a connection terminated while its client is
// checked out (between queries, under a query, during migrations) never ends the process; the call
// fails with DatabaseUnavailableError; the broken client never goes back to the pool; and faults
// that are not about the connection stay faults, their transaction rolled back.
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guarded, inTransaction, openPostgres } from "../../src/database/postgres.js";
import { DatabaseUnavailableError } from "../../src/database/errors.js";

let cluster: PostgresCluster;
let pool: pg.Pool;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  pool = await openPostgres(cluster.url);
});
afterAll(async () => {
  await pool?.end();
  cluster?.stop();
});

const backendPid = async (client: pg.PoolClient | pg.Pool) =>
  (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
const terminate = (pid: number) => cluster.sql(`SELECT pg_terminate_backend(${pid})`);

/** When the client's connection has ended. (Not events.once: its own 'error' listener would hide the fault under test.) */
const connectionEnd = (client: pg.PoolClient) => new Promise<void>((resolve) => client.once("end", () => resolve()));

/** Holds every client the pool can give at once, each in a transaction: all must work. */
const everyClientWorks = () =>
  Promise.all(Array.from({ length: 10 }, () => guarded(() => inTransaction(pool, (client) => client.query("SELECT pg_sleep(0.05)")))));

describe("a connection that dies while its client is checked out", () => {
  it("between two queries of a transaction: the next query fails as unavailable, and the process lives on", async () => {
    const outcome = guarded(() =>
      inTransaction(pool, async (client) => {
        const ended = connectionEnd(client);
        await terminate(await backendPid(client));
        await ended; // the error has reached the client, with no query of ours in flight
        return client.query("SELECT 1");
      }),
    );
    await expect(outcome).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(everyClientWorks()).resolves.toHaveLength(10); // the broken client is not handed out again
  });

  it("under a query: that query fails as unavailable, and the pool serves again at once", async () => {
    const outcome = guarded(() =>
      inTransaction(pool, async (client) => {
        const pid = await backendPid(client);
        return Promise.all([client.query("SELECT pg_sleep(30)"), terminate(pid)]);
      }),
    );
    await expect(outcome).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(everyClientWorks()).resolves.toHaveLength(10);
  });

  it("before COMMIT: the transaction goes with its connection, and the call is unavailable, never a success", async () => {
    await pool.query("CREATE TABLE IF NOT EXISTS blip_commits (n INTEGER)");
    const outcome = guarded(() =>
      inTransaction(pool, async (client) => {
        await client.query("INSERT INTO blip_commits VALUES (1)");
        const ended = connectionEnd(client);
        await terminate(await backendPid(client));
        await ended;
        return "committed";
      }),
    );
    await expect(outcome).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect((await pool.query("SELECT count(*)::int AS n FROM blip_commits")).rows[0]).toEqual({ n: 0 });
  });

  it("during migrations: the start fails with the database's error", async () => {
    await cluster.sql("CREATE DATABASE blip_migrations");
    const url = cluster.url.replace(/\/instances$/, "/blip_migrations");
    const migrations = [{ version: 1, name: "the connection dies", sql: "SELECT pg_terminate_backend(pg_backend_pid())" }];
    await expect(openPostgres(url, migrations)).rejects.toMatchObject({ code: "57P01" });
  });
});

describe("a fault that is not about the connection", () => {
  it("stays that fault, and its transaction is rolled back", async () => {
    await pool.query("CREATE TABLE IF NOT EXISTS blip_faults (n INTEGER)");
    const outcome = guarded(() =>
      inTransaction(pool, async (client) => {
        await client.query("INSERT INTO blip_faults VALUES (1)");
        return client.query("SELECT no_such_column FROM blip_faults");
      }),
    );
    await expect(outcome).rejects.toMatchObject({ code: "42703" });
    await expect(outcome).rejects.not.toBeInstanceOf(DatabaseUnavailableError);
    expect((await pool.query("SELECT count(*)::int AS n FROM blip_faults")).rows[0]).toEqual({ n: 0 });
  });
});

describe("a transaction PostgreSQL rolls back so that another goes on", () => {
  it("is unavailable for now (a 503 to retry), not a fault, and keeps nothing", async () => {
    await pool.query("CREATE TABLE IF NOT EXISTS blip_deadlocks (n INTEGER PRIMARY KEY, v INTEGER)");
    await pool.query("INSERT INTO blip_deadlocks VALUES (1, 0), (2, 0) ON CONFLICT (n) DO UPDATE SET v = 0");
    // Each locks one row, then waits for the other's: PostgreSQL ends one of the two (40P01).
    let bothHoldOne: () => void = () => {};
    let held = 0;
    const bothLocked = new Promise<void>((resolve) => (bothHoldOne = resolve));
    const crossing = (first: number, second: number) =>
      guarded(() =>
        inTransaction(pool, async (client) => {
          await client.query("UPDATE blip_deadlocks SET v = v + 1 WHERE n = $1", [first]);
          if (++held === 2) bothHoldOne();
          await bothLocked;
          await client.query("UPDATE blip_deadlocks SET v = v + 1 WHERE n = $1", [second]);
        }),
      );
    const outcomes = await Promise.allSettled([crossing(1, 2), crossing(2, 1)]);
    const refused = outcomes.filter((outcome) => outcome.status === "rejected").map((outcome) => outcome.reason as Error);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(DatabaseUnavailableError);
    expect(refused[0]!.message).toMatch(/retry/);
    expect((refused[0]!.cause as { code?: string }).code).toBe("40P01");
    // The winner's two updates only.
    expect((await pool.query("SELECT sum(v)::int AS total FROM blip_deadlocks")).rows[0]).toEqual({ total: 2 });
  });
});

describe("a database that is down", () => {
  it("makes every call fail fast as unavailable, and serves again once it is back", async () => {
    await cluster.stopServer("immediate");
    try {
      const started = Date.now();
      await expect(guarded(() => pool.query("SELECT 1"))).rejects.toBeInstanceOf(DatabaseUnavailableError);
      await expect(guarded(() => inTransaction(pool, (client) => client.query("SELECT 1")))).rejects.toBeInstanceOf(
        DatabaseUnavailableError,
      );
      expect(Date.now() - started).toBeLessThan(5_000); // refused at once, not after the pool's connect timeout
    } finally {
      await cluster.startServer();
    }
    await expect(everyClientWorks()).resolves.toHaveLength(10);
  });
});
