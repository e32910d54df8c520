// The store contract on PostgreSQL; what the planner makes, on analyzed tables, of the statements
// the store runs on instance_tags and of its lists and refresh claims, once the server has gathered
// statistics, of every read of the scale suite on an organization grown as it grows them, and of a
// stopping replica's release of its claims; the statistics it gathers;
// migration 8 on a database from before it; and migrations whose versions arrive out of order.
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { defaultEventDelivery } from "../../src/config.js";
import { postgresFairClaimValues } from "../../src/database/postgres-fair-claim.js";
import { gatherPostgresStatistics, openPostgres } from "../../src/database/postgres.js";
import { postgresEventWriter } from "../../src/events/postgres-event-store.js";
import { postgresMigrations } from "../../src/database/postgres-migrations.js";
import { postgresInstanceStore } from "../../src/instances/postgres-instance-store.js";
import { claimDueSql, releaseAllSql } from "../../src/instances/postgres-refresh-store.js";
import { claimDueSql as claimDuePollsSql, unscheduledSql } from "../../src/polling/postgres-poll-store.js";
import { candidatesPerPage, type InstanceStore } from "../../src/instances/store.js";
import { openStorage } from "../../src/storage.js";
import {
  copyInstancesSql,
  deepCursorIdSql,
  scaleConnectors,
  scaleReads,
  scaleTags,
  type ScaleIndex,
} from "../../test-support/scale-shapes.js";
import { listQuery, newInstance, storeContract } from "./store-contract.js";
import { expectListedAsBefore, keptBefore } from "./tags-before-migration.js";
import { until } from "../support/until.js";

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(() => cluster?.stop());

/** The URL of a new, empty database of the cluster. */
async function newDatabase(name: string): Promise<string> {
  await cluster.sql(`CREATE DATABASE ${name}`);
  return cluster.url.replace(/\/instances$/, `/${name}`);
}

storeContract("PostgreSQL", async () => {
  const storage = await openStorage({ kind: "postgres", url: cluster.url });
  const reader = new pg.Pool({ connectionString: cluster.url, max: 1 });
  return {
    storage,
    tagRowsOf: async (instanceId) =>
      (
        await reader.query<{ organizationId: number; tag: string }>(
          'SELECT organization_id::int AS "organizationId", tag FROM instance_tags WHERE instance_id = $1 ORDER BY tag',
          [instanceId],
        )
      ).rows,
    close: async () => {
      await reader.end();
      await storage.close();
    },
  };
});

describe("the PostgreSQL schema, on a table the planner has analyzed", () => {
  const instances = 20_000; // under ANALYZE's sample of 30,000 rows: the statistics are of every row
  let pool: pg.Pool;
  let store: InstanceStore;
  beforeAll(async () => {
    pool = await openPostgres(await newDatabase("tags_planned"));
    store = postgresInstanceStore(pool, postgresEventWriter(defaultEventDelivery.maxPendingPerInstance));
    await pool.query("INSERT INTO organizations (id, name, secret_hash, created_at) VALUES (1, 'o', '\\x01', ''), (2, 'p', '\\x02', '')");
    // Every instance of organization 1 has "common" and one of a hundred "group-" tags; the other
    // organization's have "common" and "absent".
    await pool.query(
      `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at)
       SELECT CASE WHEN i % 10 = 0 THEN 2 ELSE 1 END, 'taxify', 'n',
              CASE WHEN i % 10 = 0 THEN '["common", "absent"]'::jsonb ELSE jsonb_build_array('common', 'group-' || i % 100) END,
              '{}', 'v1.sealed', sha256(i::text::bytea), '', ''
       FROM generate_series(1, $1) AS i`,
      [instances],
    );
    await pool.query(
      `INSERT INTO instance_tags (organization_id, tag, instance_id)
       SELECT organization_id, tag, id FROM instances, jsonb_array_elements_text(tags) AS tag`,
    );
    await pool.query("ANALYZE instances; ANALYZE instance_tags");
  });
  afterAll(() => pool?.end());
  afterEach(() => vi.restoreAllMocks());

  // [what, the store's calls, the most rows any one scan may return over all its loops]
  const tagWork: [string, (store: InstanceStore) => Promise<unknown>, number][] = [
    ["a list by a tag none of the organization's instances has", (store) => store.list(listQuery(1, { tags: ["absent"] })), 0],
    [
      "a list by a tag on every instance, from the middle",
      (store) => store.list(listQuery(1, { tags: ["common"], afterId: instances / 2 })),
      21,
    ],
    // The tag's 180 rows: fewer than a page may examine, and the planner may gather them at once.
    [
      "a list by a tag, of one connector",
      (store) => store.list(listQuery(1, { tags: ["group-7"], connectorKey: "taxify" })),
      candidatesPerPage,
    ],
    [
      "a list by a tag on every instance and one on none",
      (store) => store.list(listQuery(1, { tags: ["common", "absent"] })),
      candidatesPerPage,
    ],
    [
      "a list by two tags that never meet, bounded",
      (store) => store.list(listQuery(1, { tags: ["group-3", "group-4"], maxExamined: 50 })),
      50,
    ],
    [
      "a list by a tag of a connector none of its instances has, bounded",
      (store) => store.list(listQuery(1, { tags: ["common"], connectorKey: "infobip", maxExamined: 50 })),
      50,
    ],
    [
      "a create, an update of its tags and a delete",
      async (store) => {
        const outcome = await store.create(newInstance(1, { tags: ["red", "blue"] }));
        if (!("created" in outcome)) throw new Error("expected a create");
        await store.update(1, outcome.created.record.id, undefined, { tags: ["blue", "green"] });
        await store.delete(1, outcome.created.record.id, undefined);
      },
      Infinity,
    ],
  ];

  it.each(tagWork)("runs %s through instance_tags' key, never a sequential scan", async (_what, work, mostRows) => {
    const query = vi.spyOn(pg.Client.prototype, "query");
    await work(store);
    const statements = query.mock.calls
      .map(([text, values]) => ({ text: String(text), values: values as unknown[] }))
      .filter(({ text }) => /\binstance_tags\b/.test(text) && !text.startsWith("INSERT"));
    query.mockRestore();
    expect(statements.length).toBeGreaterThan(0);
    for (const { text, values } of statements) {
      // Reads are run, to count the rows each scan returns; a write is only planned.
      const analyze = text.startsWith("SELECT") ? "ANALYZE, " : "";
      const { rows } = await pool.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (${analyze}FORMAT JSON) ${text}`, values);
      const scans = scansOf(rows[0]!["QUERY PLAN"][0].Plan);
      const keyScan = scans.find((scan) => scan["Index Name"] === "instance_tags_pkey");
      expect(keyScan?.["Index Cond"], text).toMatch(/\(organization_id = .*\(tag = /);
      expect(
        scans.map((scan) => scan["Node Type"]),
        text,
      ).not.toContain("Seq Scan");
      // A list without a bound walks the key in id order and stops at the page's end: no bitmap gathers a tag's rows first.
      if (/\bAS found\b/.test(text) && !/\bAS candidate\b/.test(text)) {
        expect(
          scans
            .map((scan) => `${scan["Node Type"]} on ${scan["Index Name"] ?? scan["Relation Name"]}`)
            .filter((read) => !/^Index (Only )?Scan /.test(read)),
          text,
        ).toEqual([]);
      }
      for (const scan of analyze ? scans : []) expect(scan["Actual Rows"]! * scan["Actual Loops"]!, text).toBeLessThanOrEqual(mostRows);
    }
  });
});

interface PlanNode {
  "Node Type": string;
  "Rows Removed by Filter"?: number;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  Plans?: PlanNode[];
}

/** The plan's reads of a table or an index. */
function scansOf(node: PlanNode): PlanNode[] {
  const reads = node["Relation Name"] !== undefined || node["Index Name"] !== undefined;
  return [...(reads && node["Node Type"] !== "ModifyTable" ? [node] : []), ...(node.Plans ?? []).flatMap(scansOf)];
}

/**
 * Organization 1's 20,000 instances, every other one with a refresh (one in 500 claimed), then
 * organization 2's 2,000, whose ids come after; autovacuum off on instances, so that its statistics
 * stay those the test gathers (or those of the empty table the migrations analyzed).
 */
async function fillSkewed(pool: pg.Pool): Promise<void> {
  await pool.query("ALTER TABLE instances SET (autovacuum_enabled = false)");
  await pool.query(
    "INSERT INTO organizations (id, name, secret_hash, created_at) VALUES (1, 'big', '\\x01', ''), (2, 'small', '\\x02', '')",
  );
  const fill = (organizationId: number, from: number, to: number) =>
    pool.query(
      `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at,
                              refresh_due_at, refresh_claimed_by, refresh_claimed_until)
       SELECT $1, CASE WHEN i % 3 = 0 THEN 'taxify' ELSE 'sugarcrmv2' END, 'n', '[]', '{}', 'v1.sealed', sha256(i::text::bytea), '', '',
              CASE WHEN i % 2 = 0 THEN 1000 + i END, CASE WHEN i % 500 = 0 THEN 'owner' END, CASE WHEN i % 500 = 0 THEN 2000000000000 END
       FROM generate_series($2::int, $3::int) AS i`,
      [organizationId, from, to],
    );
  await fill(1, 1, 20_000);
  await fill(2, 20_001, 22_000);
}

/** The reads of a statement's plan as run (in a transaction rolled back: a write is undone), with the rows each returned. */
async function planRun(pool: pg.Pool, text: string, values: unknown[]): Promise<PlanNode[]> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
    return scansOf(rows[0]!["QUERY PLAN"][0].Plan);
  } finally {
    await client.query("ROLLBACK");
    client.release();
  }
}

/** What a read went through: its rows returned and those it read and left (a filter). */
const rowsRead = (scan: PlanNode) => (scan["Actual Rows"]! + (scan["Rows Removed by Filter"] ?? 0)) * scan["Actual Loops"]!;

describe("the PostgreSQL schema, once the server has gathered the statistics of a table one organization fills", () => {
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = await openPostgres(await newDatabase("lists_planned"));
    await fillSkewed(pool);
    // As the server's periodic round does, once PostgreSQL has counted the rows written.
    await until(async () => ((await gatherPostgresStatistics(pool)).includes("instances") ? true : undefined));
  });
  afterAll(() => pool?.end());
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ["a first page", listQuery(1)],
    ["the last page (fixed: it walked the primary key on through the other organization's 2,000)", listQuery(1, { afterId: 19_990 })],
    ["another organization's first page", listQuery(2)],
  ])("lists %s through (organization_id, id), reading about a page of rows", async (_what, query) => {
    const spy = vi.spyOn(pg.Pool.prototype, "query");
    await postgresInstanceStore(pool, postgresEventWriter(defaultEventDelivery.maxPendingPerInstance)).list(query);
    const [text, values] = spy.mock.calls[0]! as unknown as [string, unknown[]];
    spy.mockRestore();
    const scans = await planRun(pool, text, values);
    expect(scans.map((scan) => `${scan["Node Type"]} on ${scan["Index Name"] ?? scan["Relation Name"]}`)).toEqual([
      "Index Scan on instances_by_organization",
    ]);
    // A page is 21 rows.
    expect(rowsRead(scans[0]!)).toBeLessThanOrEqual(21);
  });

  it("claims due refreshes a few rows of each organization, through (organization_id, refresh_due_at, id)", async () => {
    const scans = await planRun(
      pool,
      claimDueSql,
      postgresFairClaimValues("claimer", 50_000, 60_000, 8, { perOrganization: 4, skip: [], underWay: [[1, 2]] }),
    );
    const reads = scans.filter((scan) => scan["Relation Name"] === "instances" || scan["Index Name"]?.startsWith("instances"));
    expect(reads.map((scan) => scan["Node Type"])).not.toContain("Seq Scan");
    expect(new Set(reads.map((scan) => scan["Index Name"]))).toEqual(new Set(["instances_refresh_due_by_organization", "instances_pkey"]));
    // Each organization's first few rows, those claimed (one in 500) walked past, and the loose scan's steps.
    for (const scan of reads) expect(rowsRead(scan), JSON.stringify(scan)).toBeLessThanOrEqual(20);
  });

  /** Runs `work` with a poll row for every instance (every other one due, one in 500 claimed), analyzed. */
  async function withPolls(work: () => Promise<void>): Promise<void> {
    await pool.query(
      `INSERT INTO instance_polls (instance_id, organization_id, instance_version, due_at, checkpoints, started_at, claimed_by, claimed_until)
       SELECT id, organization_id, version, CASE WHEN id % 2 = 0 THEN 1000 + id END, '{}', 0,
              CASE WHEN id % 500 = 0 THEN 'owner' END, CASE WHEN id % 500 = 0 THEN 2000000000000 END
       FROM instances`,
    );
    try {
      await pool.query("ANALYZE instance_polls");
      await work();
    } finally {
      await pool.query("DELETE FROM instance_polls");
    }
  }

  it("finds the instances to schedule for polling through the queue their writes fill, reading a batch of rows (fixed: every instance, each tick)", () =>
    withPolls(async () => {
      // Every instance was queued by its insert: the batch is read from the queue's key, each instance and poll by its own.
      const scans = await planRun(pool, unscheduledSql, [200]);
      expect(scans.map((scan) => scan["Node Type"])).not.toContain("Seq Scan");
      for (const scan of scans) expect(rowsRead(scan), JSON.stringify(scan)).toBeLessThanOrEqual(200);
    }));

  it("claims due polls a few rows of each organization, through (organization_id, due_at, instance_id) (fixed: every due row)", () =>
    withPolls(async () => {
      const scans = await planRun(
        pool,
        claimDuePollsSql,
        postgresFairClaimValues("claimer", 50_000, 60_000, 8, { perOrganization: 2, skip: [], underWay: [[1, 1]] }),
      );
      const reads = scans.filter((scan) => scan["Relation Name"] === "instance_polls" || scan["Index Name"]?.startsWith("instance_polls"));
      expect(reads.map((scan) => scan["Node Type"])).not.toContain("Seq Scan");
      expect(new Set(reads.map((scan) => scan["Index Name"]))).toEqual(
        new Set(["instance_polls_due_by_organization", "instance_polls_pkey"]),
      );
      for (const scan of reads) expect(rowsRead(scan), JSON.stringify(scan)).toBeLessThanOrEqual(20);
    }));
});

/** Every node of a plan. */
function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

describe("the PostgreSQL schema, listing one connector, once the server has gathered statistics", () => {
  // Organization 1's 20,000 instances, nine in ten Sugar CRM's and the rest Taxify's, then
  // organization 2's 2,000 alike, then organization 3's 5,000, all Freshservice's: the statistics
  // say Sugar CRM is on most rows, and organization 3 has none.
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = await openPostgres(await newDatabase("connector_lists_planned"));
    await pool.query(
      "INSERT INTO organizations (id, name, secret_hash, created_at) VALUES (1, 'big', '\\x01', ''), (2, 'small', '\\x02', ''), (3, 'one connector', '\\x03', '')",
    );
    await pool.query(
      `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at)
       SELECT CASE WHEN i <= 20000 THEN 1 WHEN i <= 22000 THEN 2 ELSE 3 END,
              CASE WHEN i > 22000 THEN 'freshservice' WHEN i % 10 = 0 THEN 'taxify' ELSE 'sugarcrmv2' END,
              'n', '[]', '{}', 'v1.sealed', sha256(i::text::bytea), '', ''
       FROM generate_series(1, 27000) AS i ORDER BY i`,
    );
    await until(async () => ((await gatherPostgresStatistics(pool)).includes("instances") ? true : undefined));
  });
  afterAll(() => pool?.end());
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ["a page of one connector", listQuery(1, { connectorKey: "taxify" }), 21],
    [
      "a page of a connector none of its instances has (fixed: a sequential scan of every organization's rows)",
      listQuery(1, { connectorKey: "infobip" }),
      0,
    ],
    ["another organization's page of one connector, from a cursor", listQuery(2, { connectorKey: "sugarcrmv2", afterId: 20_500 }), 21],
    [
      "a page of the connector most rows have, of an organization that has none (fixed: it walked the organization's every row)",
      listQuery(3, { connectorKey: "sugarcrmv2" }),
      0,
    ],
    ["a deep page of the organization's one connector", listQuery(3, { connectorKey: "freshservice", afterId: 26_000 }), 21],
  ])("lists %s through (organization_id, connector_key, id), reading the page's rows only", async (_what, query, rows) => {
    const spy = vi.spyOn(pg.Pool.prototype, "query");
    await postgresInstanceStore(pool, postgresEventWriter(defaultEventDelivery.maxPendingPerInstance)).list(query);
    const [text, values] = spy.mock.calls[0]! as unknown as [string, unknown[]];
    spy.mockRestore();
    const scans = await planRun(pool, text, values);
    expect(scans.map((scan) => `${scan["Index Name"] ?? scan["Relation Name"]}`)).toEqual(["instances_by_connector"]);
    expect(scans[0]!["Node Type"]).toMatch(/^Index (Only )?Scan$/);
    expect(rowsRead(scans[0]!)).toBe(rows);
  });
});

/**
 * Each index a read goes through, by its names in this schema: an instance is read by its id within
 * its organization, which (organization_id, id) answers as well as the primary key.
 */
const indexNames: Record<ScaleIndex, string[]> = {
  "instances key": ["instances_pkey", "instances_by_organization"],
  instances_by_organization: ["instances_by_organization"],
  instances_by_connector: ["instances_by_connector"],
  instances_by_token: ["instances_by_token"],
  "instance_tags key": ["instance_tags_pkey"],
};

describe("the scale suite's reads, on an organization grown as it grows one, analyzed", () => {
  // Organization 1 grown to 4,000 copies of an instance the store wrote, organization 2 to 400,
  // their ids interleaved, as `npm run bench:scale` grows them to 1M (test-support/scale-shapes.ts).
  let pool: pg.Pool;
  let store: InstanceStore;
  let deepId: number;
  let tokenHash: Buffer;
  beforeAll(async () => {
    pool = await openPostgres(await newDatabase("scale_reads"));
    store = postgresInstanceStore(pool, postgresEventWriter(defaultEventDelivery.maxPendingPerInstance));
    await pool.query(
      "INSERT INTO organizations (id, name, secret_hash, created_at) VALUES (1, 'big', '\\x01', ''), (2, 'small', '\\x02', '')",
    );
    const templates: number[] = [];
    for (const organizationId of [1, 2]) {
      const outcome = await store.create(
        newInstance(organizationId, { connectorKey: scaleConnectors.own, tags: [scaleTags.everyInstance, "group-0"] }),
      );
      if (!("created" in outcome)) throw new Error("expected a create");
      templates.push(outcome.created.record.id);
    }
    for (let chunk = 0; chunk < 2; chunk++)
      for (const [template, count] of [
        [templates[0]!, 2_000],
        [templates[1]!, 200],
      ] as const) {
        const afterId = Number((await pool.query<{ max: string }>("SELECT max(id) FROM instances")).rows[0]!.max);
        for (const sql of copyInstancesSql("postgres", template, count, afterId)) await pool.query(sql);
      }
    await pool.query("ANALYZE");
    deepId = Number((await pool.query<{ id: string }>(deepCursorIdSql(1))).rows[0]!.id);
    tokenHash = (await pool.query<{ token_hash: Buffer }>("SELECT token_hash FROM instances WHERE id = $1", [deepId])).rows[0]!.token_hash;
  });
  afterAll(() => pool?.end());
  afterEach(() => vi.restoreAllMocks());

  it.each(scaleReads.map((read) => [read.name, read] as const))(
    "reads %s through its index: no sequential scan, no sort",
    async (_name, read) => {
      const query = vi.spyOn(pg.Pool.prototype, "query");
      if (read.kind === "get") expect(await store.get(1, deepId)).toMatchObject({ id: deepId });
      else if (read.kind === "token") expect(await store.findByTokenHash(1, tokenHash)).toMatchObject({ id: deepId });
      else await store.list(listQuery(1, { tags: read.tags ?? [], connectorKey: read.connectorKey, afterId: read.deep ? deepId : 0 }));
      const statements = query.mock.calls.map(([text, values]) => ({ text: String(text), values: values as unknown[] }));
      query.mockRestore();
      expect(statements.length).toBeGreaterThan(0);
      const used: string[] = [];
      for (const { text, values } of statements) {
        const { rows } = await pool.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
        const plan = rows[0]!["QUERY PLAN"][0].Plan;
        expect(
          nodesOf(plan)
            .filter((node) => node["Node Type"] === "Seq Scan")
            .map((node) => node["Relation Name"]),
          text,
        ).toEqual([]);
        const scans = scansOf(plan);
        // A bitmap's heap scan names its table; the index it read is its child's.
        used.push(...scans.flatMap((scan) => scan["Index Name"] ?? []));
        // The rarest tag's count, and a walk bounded by what a page examines, may gather a tag's rows and
        // sort them where the planner expects few: they stop at candidatesPerPage all the same. What
        // reads a page without a bound walks its indexes in order: no bitmap, no sort.
        if (/\bAS (walked|candidate)\b/.test(text)) {
          for (const scan of scans) expect(scan["Actual Rows"]! * scan["Actual Loops"]!, text).toBeLessThanOrEqual(candidatesPerPage);
          // A page that fills stops probing there (fixed: the candidates were sorted, so every one was probed).
          const probes = scans.filter((scan) => /candidate\.instance_id/.test(scan["Index Cond"] ?? ""));
          if (!read.bounded) for (const probe of probes) expect(probe["Actual Loops"], text).toBeLessThanOrEqual(21);
        } else {
          expect(
            nodesOf(plan)
              .filter((node) => /Bitmap|Sort/.test(node["Node Type"]))
              .map((node) => node["Node Type"]),
            text,
          ).toEqual([]);
        }
      }
      const allowed = read.indexes.flatMap((index) => indexNames[index]);
      expect(used.filter((name) => !allowed.includes(name))).toEqual([]);
      for (const index of read.indexes)
        expect(
          used.some((name) => indexNames[index].includes(name)),
          index,
        ).toBe(true);
    },
  );
});

describe.each([
  ["the PostgreSQL schema, its statistics those of the empty table the migrations analyzed", "refreshes_unanalyzed", false],
  ["the PostgreSQL schema, analyzed", "refreshes_analyzed", true],
])("%s", (_name, database, analyzed) => {
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = await openPostgres(await newDatabase(database));
    await fillSkewed(pool);
    if (analyzed) await pool.query("ANALYZE instances");
  });
  afterAll(() => pool?.end());

  it("releases a stopping replica's every claim through the index on refresh_claimed_by (fixed: it read the whole table)", async () => {
    const scans = await planRun(pool, releaseAllSql, ["owner"]);
    expect(scans.map((scan) => scan["Index Name"])).toContain("instances_refresh_claimed_by");
    expect(scans.map((scan) => scan["Node Type"])).not.toContain("Seq Scan");
  });
});

describe("statistics", () => {
  it("are gathered after migrations, and later for a table that changed much since", async () => {
    const pool = await openPostgres(await newDatabase("statistics_gathered"));
    try {
      const analyzed = async () =>
        (
          await pool.query<{ name: string }>(
            "SELECT relname AS name FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname IN ('instances', 'instance_tags') ORDER BY 1",
          )
        ).rows.map((row) => row.name);
      expect(await analyzed()).toEqual(["instance_tags", "instances"]);
      expect(await gatherPostgresStatistics(pool)).toEqual([]); // nothing changed since
      await pool.query("ALTER TABLE instances SET (autovacuum_enabled = false)");
      await pool.query("INSERT INTO organizations (id, name, secret_hash, created_at) VALUES (1, 'o', '\\x01', '')");
      await pool.query(
        `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at)
         SELECT 1, 'taxify', 'n', '[]', '{}', 'v1.sealed', sha256(i::text::bytea), '', '' FROM generate_series(1, 5000) AS i`,
      );
      // The server's statistics system counts the inserted rows within a second or so.
      await until(async () => {
        const { rows } = await pool.query<{ changed: number }>(
          "SELECT n_mod_since_analyze::int AS changed FROM pg_stat_user_tables WHERE relname = 'instances'",
        );
        return rows[0]!.changed >= 5000 ? true : undefined;
      });
      expect(await gatherPostgresStatistics(pool)).toContain("instances");
      const { rows } = await pool.query<{ estimate: number }>(
        "SELECT reltuples::int AS estimate FROM pg_class WHERE relname = 'instances'",
      );
      expect(rows[0]!.estimate).toBe(5000);
    } finally {
      await pool.end();
    }
  });
});

describe("migration 8 (instance_tags)", () => {
  it("fills the table from the tags of the instances kept before it: every filter lists them as before", async () => {
    const url = await newDatabase("tags_migrated");
    const before = await openPostgres(
      url,
      postgresMigrations.filter((migration) => migration.version < 8),
    );
    const organizationIds: number[] = [];
    for (let i = 0; i < 2; i++) {
      const { rows } = await before.query<{ id: number }>(
        "INSERT INTO organizations (name, secret_hash, created_at) VALUES ('o', $1, '') RETURNING id",
        [randomBytes(32)],
      );
      organizationIds.push(rows[0]!.id);
    }
    const kept = [];
    for (const { organization, tags } of keptBefore) {
      const organizationId = organizationIds[organization]!;
      const { rows } = await before.query<{ id: number }>(
        `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at)
         VALUES ($1, 'taxify', 'kept', $2, '{}', 'v1.sealed', $3, '', '') RETURNING id`,
        [organizationId, JSON.stringify(tags), randomBytes(32)],
      );
      kept.push({ id: rows[0]!.id, organizationId, tags });
    }
    await before.end();

    const storage = await openStorage({ kind: "postgres", url });
    try {
      await expectListedAsBefore(storage, kept);
    } finally {
      await storage.close();
    }
  });
});

describe("migrations whose versions arrive out of order", () => {
  it("applies 10 once to a database that 9 and 11 reached first", async () => {
    // 9 and 11 were released while 10 waited on a branch: a database at 11 gets 10 when it arrives.
    const url = await newDatabase("migrations_out_of_order");
    await (
      await openPostgres(
        url,
        postgresMigrations.filter((migration) => migration.version <= 11 && migration.version !== 10),
      )
    ).end();
    await (await openPostgres(url)).end();
    const pool = await openPostgres(url);
    try {
      const { rows } = await pool.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY applied_at, version");
      expect(rows.map((row) => row.version)).toEqual([
        ...postgresMigrations.filter((migration) => migration.version <= 9).map((migration) => migration.version),
        11,
        10,
        ...postgresMigrations.filter((migration) => migration.version > 11).map((migration) => migration.version),
      ]);
      const { rows: made } = await pool.query<{ name: string }>(
        "SELECT relname AS name FROM pg_class WHERE relname IN ('instance_polls', 'instances_refresh_claimed_by') ORDER BY 1",
      );
      expect(made.map((row) => row.name)).toEqual(["instance_polls", "instances_refresh_claimed_by"]);
    } finally {
      await pool.end();
    }
  });
});
