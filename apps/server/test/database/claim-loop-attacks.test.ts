// The claim loop the refresher and the poller share (database/claim-loop.ts), attacked as a
// hostile tenant would, over the real fair claim of each dialect (sqlite-fair-claim.ts,
// postgres-fair-claim.ts) on a table of due rows of its own: one organization with many due rows
// whose vendor hangs holds its share of the slots and no more, while every other organization's
// rows are run; one whose vendor fails at once has each of its rows run once a lease, never in a
// hot loop; a stop gives back every claim, those of the runs that hung included; and claims that
// fail now and then (the database away) never stop the loop: the next tick claims again.
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import Database from "better-sqlite3";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClaimFairnessUnderWay } from "../../src/database/claim-fairness.js";
import { claimLoop, type ClaimedInstance } from "../../src/database/claim-loop.js";
import { postgresFairClaimSql, postgresFairClaimValues } from "../../src/database/postgres-fair-claim.js";
import { sqliteFairClaimSql, sqliteFairClaimValues } from "../../src/database/sqlite-fair-claim.js";
import { until } from "../support/until.js";

/** A table of due rows ("chores"), claimed as the refreshes and the polls are. */
interface Chores {
  /** Empties the table, then adds `count` rows of the organization, all due at `dueAt`. */
  add(organizationId: number, count: number, dueAt: number): Promise<void>;
  claim(owner: string, now: number, leaseMs: number, limit: number, fairness: ClaimFairnessUnderWay): Promise<ClaimedInstance[]>;
  /** The run's own write: done, and its claim given back. */
  finish(id: number): Promise<void>;
  giveBack(id: number): Promise<void>;
  releaseAll(owner: string): Promise<number>;
  /** Each organization's rows still due, and those still claimed. */
  left(): Promise<{ due: Record<number, number>; claimed: number }>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

const claimed = { table: "chores", id: "id", dueAt: "due_at", claimedBy: "claimed_by", claimedUntil: "claimed_until" };
const createChores = `
  CREATE TABLE chores (id bigint PRIMARY KEY, organization_id bigint NOT NULL, due_at bigint, claimed_by text, claimed_until bigint);
  CREATE INDEX chores_due_by_organization ON chores (organization_id, due_at, id);`;

function sqliteChores(): Chores {
  const db = new Database(":memory:");
  db.exec(createChores);
  const claim = db.prepare(
    sqliteFairClaimSql({ ...claimed, index: "chores_due_by_organization", returning: "id, organization_id AS organizationId" }),
  );
  let next = 1;
  return {
    add: (organizationId, count, dueAt) => {
      const insert = db.prepare("INSERT INTO chores (id, organization_id, due_at) VALUES (?, ?, ?)");
      for (let i = 0; i < count; i++) insert.run(next++, organizationId, dueAt);
      return Promise.resolve();
    },
    claim: (owner, now, leaseMs, limit, fairness) =>
      Promise.resolve(claim.all(sqliteFairClaimValues(owner, now, leaseMs, limit, fairness)) as ClaimedInstance[]),
    finish: (id) => Promise.resolve(void db.prepare("UPDATE chores SET due_at = NULL, claimed_by = NULL WHERE id = ?").run(id)),
    giveBack: (id) => Promise.resolve(void db.prepare("UPDATE chores SET claimed_by = NULL, claimed_until = NULL WHERE id = ?").run(id)),
    releaseAll: (owner) =>
      Promise.resolve(db.prepare("UPDATE chores SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?").run(owner).changes),
    left: () => Promise.resolve(leftOf(db.prepare("SELECT organization_id AS o, due_at AS d, claimed_by AS c FROM chores").all() as Row[])),
    reset: () => Promise.resolve(void db.exec("DELETE FROM chores")),
    close: () => Promise.resolve(void db.close()),
  };
}

function postgresChores(pool: pg.Pool): Chores {
  const claim = postgresFairClaimSql({ ...claimed, returning: `id::int AS id, organization_id::int AS "organizationId"` });
  let next = 1;
  return {
    add: async (organizationId, count, dueAt) => {
      const first = next;
      next += count;
      await pool.query(
        "INSERT INTO chores (id, organization_id, due_at) SELECT id, $2, $3 FROM generate_series($1::bigint, $4::bigint) id",
        [first, organizationId, dueAt, next - 1],
      );
    },
    claim: async (owner, now, leaseMs, limit, fairness) =>
      (await pool.query<ClaimedInstance>(claim, postgresFairClaimValues(owner, now, leaseMs, limit, fairness))).rows,
    finish: async (id) => void (await pool.query("UPDATE chores SET due_at = NULL, claimed_by = NULL WHERE id = $1", [id])),
    giveBack: async (id) => void (await pool.query("UPDATE chores SET claimed_by = NULL, claimed_until = NULL WHERE id = $1", [id])),
    releaseAll: async (owner) =>
      (await pool.query("UPDATE chores SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1", [owner])).rowCount ?? 0,
    left: async () => leftOf((await pool.query<Row>("SELECT organization_id::int AS o, due_at AS d, claimed_by AS c FROM chores")).rows),
    reset: async () => void (await pool.query("DELETE FROM chores")),
    close: () => pool.end(),
  };
}

type Row = { o: number; d: unknown; c: string | null };
const leftOf = (rows: Row[]) => {
  const due: Record<number, number> = {};
  for (const row of rows) if (row.d !== null) due[row.o] = (due[row.o] ?? 0) + 1;
  return { due, claimed: rows.filter((row) => row.c !== null).length };
};

const logger = pino({ level: "silent" });

const dialects: [string, () => Promise<{ chores: Chores; cluster?: PostgresCluster }>][] = [
  ["SQLite", () => Promise.resolve({ chores: sqliteChores() })],
  [
    "PostgreSQL",
    async () => {
      const cluster = await startPostgresCluster();
      const pool = new pg.Pool({ connectionString: cluster.url, max: 4 });
      await pool.query(createChores);
      return { chores: postgresChores(pool), cluster };
    },
  ],
];

describe.each(dialects)("the claim loop attacked on %s", (_name, open) => {
  let chores: Chores;
  let cluster: PostgresCluster | undefined;
  beforeAll(async () => {
    ({ chores, cluster } = await open());
  }, 60_000);
  afterAll(async () => {
    await chores?.close();
    cluster?.stop();
  });

  const hostile = 1;
  const owner = "replica";
  /** A loop over the chores whose hostile organization's runs wait for `vendor` first (and fail if it does). */
  const loopOver = (vendor: () => Promise<void>, overrides: { tickMs?: number; claim?: () => void } = {}) => {
    const running = new Map<number, number>();
    const runs: number[] = [];
    let mostOfHostile = 0;
    const loop = claimLoop<ClaimedInstance>({
      what: "chores",
      logger,
      tickMs: overrides.tickMs ?? 3_600_000,
      concurrency: 4,
      perOrganization: 2,
      claimBatch: 1,
      claim: (limit, fairness) => {
        overrides.claim?.();
        return chores.claim(owner, Date.now(), 60_000, limit, fairness);
      },
      run: async ({ organizationId, id }) => {
        runs.push(id);
        running.set(organizationId, (running.get(organizationId) ?? 0) + 1);
        mostOfHostile = Math.max(mostOfHostile, running.get(hostile) ?? 0);
        try {
          if (organizationId === hostile) await vendor();
          await chores.finish(id);
        } finally {
          running.set(organizationId, running.get(organizationId)! - 1);
        }
      },
      giveBack: ({ id }) => chores.giveBack(id),
      releaseAll: () => chores.releaseAll(owner),
    });
    return { loop, runs, mostOfHostile: () => mostOfHostile };
  };

  it("runs every other organization's due rows while one's vendor hangs, which holds its share and no more; a stop gives back every claim", async () => {
    await chores.reset();
    // The hostile organization's rows are due first, and there are many of them.
    const now = Date.now();
    await chores.add(hostile, 40, now - 60_000);
    await chores.add(2, 6, now);
    await chores.add(3, 6, now);
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const { loop, mostOfHostile } = loopOver(() => answered);
    void loop.runDue();
    // No tick: only the runs that end claim again.
    const left = await until(async () => {
      const { due } = await chores.left();
      return due[2] === undefined && due[3] === undefined ? due : undefined;
    }, 20);
    expect(left).toEqual({ [hostile]: 40 });
    expect(mostOfHostile()).toBe(2);
    expect((await chores.left()).claimed).toBe(2);
    // Stopped while its vendor still hangs: the stop waits for those runs, claims nothing more,
    // and leaves no claim behind.
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false);
    answer();
    await stopping;
    expect(await chores.left()).toEqual({ due: { [hostile]: 38 }, claimed: 0 });
    expect(mostOfHostile()).toBe(2);
  }, 30_000);

  it("claims again at the next tick after claims that fail, whoever's rows are due", async () => {
    await chores.reset();
    await chores.add(hostile, 5, Date.now());
    await chores.add(2, 5, Date.now());
    let claims = 0;
    const { loop } = loopOver(() => Promise.resolve(), {
      tickMs: 20,
      // Every other claim fails (the database away now and then).
      claim: () => {
        if (++claims % 2 === 1) throw new Error("database away");
      },
    });
    try {
      expect(
        await until(
          async () => ((await chores.left()).claimed === 0 && Object.keys((await chores.left()).due).length === 0 ? true : undefined),
          20,
        ),
      ).toBe(true);
      expect(claims).toBeGreaterThan(2);
    } finally {
      await loop.stop();
    }
    expect(await chores.left()).toEqual({ due: {}, claimed: 0 });
  }, 30_000);

  it("runs each of a tenant's failing rows once a lease, never again at once, while the others' rows run", async () => {
    await chores.reset();
    const now = Date.now();
    await chores.add(hostile, 12, now - 60_000);
    await chores.add(2, 6, now);
    // The hostile tenant's vendor answers nonsense at once, every time: each of its runs fails.
    const { loop, runs, mostOfHostile } = loopOver(() => Promise.reject(new Error("nonsense from the vendor")), { tickMs: 20 });
    try {
      await until(async () => ((await chores.left()).due[2] === undefined ? true : undefined), 20);
      // Many ticks more: a failed row keeps its claim until its lease ends, so it is not run again.
      await until(() => (runs.length >= 18 ? true : undefined), 20);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(runs).toHaveLength(18);
      expect(new Set(runs).size).toBe(18);
      expect(mostOfHostile()).toBeLessThanOrEqual(2);
      expect(await chores.left()).toEqual({ due: { [hostile]: 12 }, claimed: 12 });
    } finally {
      await loop.stop();
    }
    // Stopped: their claims given back, due again for the next replica at once.
    expect(await chores.left()).toEqual({ due: { [hostile]: 12 }, claimed: 0 });
  }, 30_000);
});
