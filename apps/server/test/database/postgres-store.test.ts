// The store contract on PostgreSQL; what the planner makes, on analyzed tables, of the statements
// the store runs on instance_tags; and migration 8 on a database from before it.
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { defaultEventDelivery } from "../../src/config.js";
import { openPostgres } from "../../src/database/postgres.js";
import { postgresEventWriter } from "../../src/events/postgres-event-store.js";
import { postgresMigrations } from "../../src/database/postgres-migrations.js";
import { postgresInstanceStore } from "../../src/instances/postgres-instance-store.js";
import { tagCountLimit, type InstanceStore } from "../../src/instances/store.js";
import { openStorage } from "../../src/storage.js";
import { listQuery, newInstance, storeContract } from "./store-contract.js";
import { expectListedAsBefore, keptBefore } from "./tags-before-migration.js";

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
    ["a list by a tag, of one connector", (store) => store.list(listQuery(1, { tags: ["group-7"], connectorKey: "taxify" })), 21],
    [
      "a list by a tag on every instance and one on none",
      (store) => store.list(listQuery(1, { tags: ["common", "absent"] })),
      tagCountLimit,
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
      // The list walks the key in id order and stops at the page's end: no bitmap gathers a tag's rows first.
      if (/\bAS tagged\b/.test(text)) {
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
