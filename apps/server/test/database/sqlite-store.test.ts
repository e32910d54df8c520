// The store contract on SQLite; SQLite's plans for the statements the store runs (values bound, as
// run), before any statistics and after ANALYZE of a table one organization fills, and for every
// read of the scale suite on an organization grown as it grows them; migration 8 on a database from
// before it; the statistics gathered; and migrations whose versions arrive out of order.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defaultEventDelivery } from "../../src/config.js";
import { sqliteFairClaimValues } from "../../src/database/sqlite-fair-claim.js";
import { gatherSqliteStatistics, openSqlite } from "../../src/database/sqlite.js";
import { sqliteEventWriter } from "../../src/events/sqlite-event-store.js";
import { sqliteMigrations } from "../../src/database/sqlite-migrations.js";
import { sqliteInstanceStore } from "../../src/instances/sqlite-instance-store.js";
import { claimDueSql, releaseAllSql } from "../../src/instances/sqlite-refresh-store.js";
import type { InstanceStore } from "../../src/instances/store.js";
import { claimDueSql as claimDuePollsSql, unscheduledSql } from "../../src/polling/sqlite-poll-store.js";
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

storeContract("SQLite", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "store-sqlite-"));
  const file = path.join(dir, "instances.sqlite");
  const storage = await openStorage({ kind: "sqlite", file });
  const reader = new Database(file, { readonly: true });
  const tagRows = reader.prepare('SELECT organization_id AS "organizationId", tag FROM instance_tags WHERE instance_id = ? ORDER BY tag');
  return {
    storage,
    tagRowsOf: (instanceId) => Promise.resolve(tagRows.all(instanceId) as { organizationId: number; tag: string }[]),
    close: async () => {
      reader.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function databaseFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "store-sqlite-schema-"));
  dirs.push(dir);
  return path.join(dir, "instances.sqlite");
}

/**
 * Statistics that would lead SQLite astray: gathered (a full ANALYZE, no analysis limit) while
 * organization 1 held every row (20,000 instances with two tags each, every other one with a
 * refresh, a few of those claimed), before organization 2 had its 2,000. Told that organization 1
 * is the whole table, SQLite would list it by walking the table in id order rather than its own
 * rows through (organization_id, id): its last page would read every row of organization 2 to
 * find there is nothing more.
 */
function analyzeSkewed(db: Database.Database): void {
  const fill = (organizationId: number, count: number) => `
    WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
    INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at,
                           refresh_due_at, refresh_claimed_by, refresh_claimed_until)
      SELECT ${organizationId}, CASE WHEN i % 3 = 0 THEN 'taxify' ELSE 'sugarcrmv2' END, 'n',
             json_array('common', 'group-' || (i % 100)), '{}', 'v1.sealed', randomblob(32), '', '',
             CASE WHEN i % 2 = 0 THEN 1000 + i END, CASE WHEN i % 500 = 0 THEN 'owner' END, CASE WHEN i % 500 = 0 THEN 2000000000000 END
      FROM n;
    INSERT INTO instance_tags (organization_id, tag, instance_id)
      SELECT instances.organization_id, tag.value, instances.id FROM instances, json_each(instances.tags) AS tag
      WHERE instances.organization_id = ${organizationId} ORDER BY 1, 2, 3;`;
  db.exec(`
    INSERT INTO organizations (name, secret_hash, created_at) VALUES ('big', randomblob(32), ''), ('small', randomblob(32), '');
    ${fill(1, 20_000)}
    PRAGMA analysis_limit = 0;
    ANALYZE;
    ${fill(2, 2_000)}
  `);
}

/** What SQLite plans for a statement, values bound: one line per step. */
function planOf(db: Database.Database, sql: string, values: unknown[] | Record<string, unknown> = []): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(values) as { detail: string }[]).map((step) => step.detail);
}

const scansOrSorts = /^SCAN (instances|instance_tags|tagged|due)\b|TEMP B-TREE FOR (RIGHT PART OF )?ORDER BY/;

describe.each([
  ["the SQLite schema", false],
  ["the SQLite schema, analyzed while one organization held every row", true],
])("%s", (_name, analyzed) => {
  /** A migrated database, analyzed when the case says, and a connection to it that records what it runs. */
  function openDatabase(executed: string[] = []): Database.Database {
    const file = databaseFile();
    openSqlite(file).close();
    const db = new Database(file, { verbose: (sql) => executed.push(String(sql)) });
    if (analyzed) analyzeSkewed(db);
    else db.prepare("INSERT INTO organizations (name, secret_hash, created_at) VALUES ('o', ?, '')").run(randomBytes(32));
    return db;
  }

  it("finds an instance by its token's hash through the index on (organization_id, token_hash)", () => {
    const db = openDatabase();
    try {
      expect(
        planOf(db, "SELECT id, token_hash FROM instances WHERE organization_id = ? AND token_hash = ?", [1, Buffer.alloc(32)]),
      ).toEqual([
        expect.stringMatching(/^SEARCH instances USING (COVERING )?INDEX instances_by_token \(organization_id=\? AND token_hash=\?\)$/),
      ]);
    } finally {
      db.close();
    }
  });

  // [what, the store's calls]: each statement they run on instance_tags, as run (values bound).
  const tagWork: [string, (store: InstanceStore) => Promise<unknown>][] = [
    ["a list by a tag no instance has", (store) => store.list(listQuery(1, { tags: ["absent"] }))],
    [
      "a list by a tag, from a cursor, of one connector",
      (store) => store.list(listQuery(1, { tags: ["red"], afterId: 5, connectorKey: "taxify" })),
    ],
    ["a list by several tags", (store) => store.list(listQuery(1, { tags: ["red", "blue", "absent"] }))],
    ["a list by a tag on every instance", (store) => store.list(listQuery(2, { tags: ["common"] }))],
    ["a list by two tags that never meet, bounded", (store) => store.list(listQuery(1, { tags: ["group-3", "group-4"], maxExamined: 50 }))],
    [
      "a list by a tag of a connector none of its instances has, bounded",
      (store) => store.list(listQuery(1, { tags: ["common"], connectorKey: "infobip", maxExamined: 50 })),
    ],
    [
      "a create, an update of its tags and a delete",
      async (store) => {
        const outcome = await store.create(newInstance(1, { tags: ["red", "blue"] }));
        if (!("created" in outcome)) throw new Error("expected a create");
        await store.update(1, outcome.created.record.id, undefined, { tags: ["blue", "green"] });
        await store.delete(1, outcome.created.record.id, undefined);
      },
    ],
  ];

  it.each(tagWork)("runs %s on instance_tags' key: no scan of instances or instance_tags, no sort", async (_what, work) => {
    const executed: string[] = [];
    const db = openDatabase(executed);
    try {
      executed.length = 0;
      await work(sqliteInstanceStore(db, sqliteEventWriter(db, defaultEventDelivery.maxPendingPerInstance)));
      const plans = executed.filter((sql) => /\binstance_tags\b/.test(sql) && !sql.startsWith("INSERT")).map((sql) => planOf(db, sql));
      expect(plans.length).toBeGreaterThan(0);
      for (const plan of plans) {
        expect(plan).toContainEqual(
          expect.stringMatching(/^SEARCH (instance_tags|tagged) USING PRIMARY KEY \(organization_id=\? AND tag=\?/),
        );
        expect(plan.filter((step) => scansOrSorts.test(step))).toEqual([]);
      }
    } finally {
      db.close();
    }
  });

  it.each([
    ["a first page", listQuery(1)],
    ["the last page", listQuery(1, { afterId: 19_990 })],
    ["another organization's first page", listQuery(2)],
  ])("lists %s through (organization_id, id): the organization's own rows only, in order", async (_what, query) => {
    const executed: string[] = [];
    const db = openDatabase(executed);
    try {
      executed.length = 0;
      await sqliteInstanceStore(db, sqliteEventWriter(db, defaultEventDelivery.maxPendingPerInstance)).list(query);
      const [listed] = executed.filter((sql) => sql.startsWith("SELECT"));
      expect(planOf(db, listed!)).toEqual([
        expect.stringMatching(/^SEARCH instances USING INDEX instances_by_organization \(organization_id=\? AND id>\?\)$/),
      ]);
    } finally {
      db.close();
    }
  });

  it.each([
    ["a page of one connector", listQuery(1, { connectorKey: "taxify" })],
    ["a page of a connector none of its instances has", listQuery(1, { connectorKey: "infobip" })],
    ["another organization's page of one connector, from a cursor", listQuery(2, { connectorKey: "sugarcrmv2", afterId: 20_500 })],
  ])(
    "lists %s through (organization_id, connector_key, id): the connector's rows only (fixed: it walked the organization)",
    async (_what, query) => {
      const executed: string[] = [];
      const db = openDatabase(executed);
      try {
        executed.length = 0;
        await sqliteInstanceStore(db, sqliteEventWriter(db, defaultEventDelivery.maxPendingPerInstance)).list(query);
        const [listed] = executed.filter((sql) => sql.startsWith("SELECT"));
        expect(planOf(db, listed!)).toEqual([
          expect.stringMatching(
            /^SEARCH instances USING INDEX instances_by_connector \(organization_id=\? AND connector_key=\? AND id>\?\)$/,
          ),
        ]);
      } finally {
        db.close();
      }
    },
  );

  it("claims due refreshes a few rows of each organization, through (organization_id, refresh_due_at): no scan, no sort of instances", () => {
    const db = openDatabase();
    try {
      const values = sqliteFairClaimValues("o", 50_000, 60_000, 8, { perOrganization: 4, skip: [], underWay: [[1, 2]] });
      const plan = planOf(db, claimDueSql, values);
      const reads = plan.filter((step) => /^(SEARCH|SCAN) (instances|due)\b/.test(step));
      expect(reads.length).toBeGreaterThan(0);
      for (const read of reads)
        expect(read).toMatch(
          /^SEARCH (instances|due) USING (INTEGER PRIMARY KEY \(rowid=\?\)$|(COVERING )?INDEX instances_refresh_due_by_organization($| \(organization_id[=>]\?))/,
        );
      // What is sorted is the few rows read (the heads), never the table.
      expect(plan.filter((step) => /^SCAN instances\b/.test(step))).toEqual([]);
    } finally {
      db.close();
    }
  });

  it("finds the instances to schedule for polling through the queue their writes fill: no scan of instances (fixed: every tick joined every instance)", () => {
    const db = openDatabase();
    try {
      const plan = planOf(db, unscheduledSql, [200]);
      expect(plan.filter((step) => /^SCAN\b/.test(step))).toEqual([expect.stringMatching(/^SCAN c\b/)]);
      expect(plan.filter((step) => /^SEARCH (i|p)\b/.test(step))).toEqual([
        expect.stringMatching(/^SEARCH i USING INTEGER PRIMARY KEY \(rowid=\?\)$/),
        expect.stringMatching(/^SEARCH p USING INTEGER PRIMARY KEY \(rowid=\?\)( LEFT-JOIN)?$/),
      ]);
      expect(plan.some((step) => /TEMP B-TREE/.test(step))).toBe(false);
    } finally {
      db.close();
    }
  });

  it("claims due polls a few rows of each organization, through (organization_id, due_at, instance_id): no scan of instance_polls (fixed: every due row)", () => {
    const db = openDatabase();
    try {
      const values = sqliteFairClaimValues("o", 50_000, 60_000, 8, { perOrganization: 2, skip: [], underWay: [[1, 1]] });
      const plan = planOf(db, claimDuePollsSql, values);
      const reads = plan.filter((step) => /^(SEARCH|SCAN) (instance_polls|due)\b/.test(step));
      expect(reads.length).toBeGreaterThan(0);
      for (const read of reads)
        expect(read).toMatch(
          /^SEARCH (instance_polls|due) USING (INTEGER PRIMARY KEY \(rowid=\?\)$|(COVERING )?INDEX instance_polls_due_by_organization($| \(organization_id[=>]\?))/,
        );
    } finally {
      db.close();
    }
  });

  it("releases a stopping replica's every claim through the index on refresh_claimed_by (fixed: it read the whole table)", () => {
    const db = openDatabase();
    try {
      expect(planOf(db, releaseAllSql, ["owner"])).toEqual([
        expect.stringMatching(/^SEARCH instances USING (COVERING )?INDEX instances_refresh_claimed_by \(refresh_claimed_by=\?\)$/),
      ]);
    } finally {
      db.close();
    }
  });
});

/** How each index a read goes through shows in SQLite's plan. */
const planSteps: Record<ScaleIndex, RegExp> = {
  "instances key": /^SEARCH instances USING INTEGER PRIMARY KEY \(rowid=\?\)$/,
  instances_by_organization: /^SEARCH instances USING INDEX instances_by_organization \(organization_id=\? AND id>\?\)$/,
  // A walk of the connector's rows (>), or a candidate's probe (=; id is the rowid, which ends every index).
  instances_by_connector:
    /^SEARCH (instances|kept) USING (COVERING )?INDEX instances_by_connector \(organization_id=\? AND connector_key=\? AND (id>\?|id=\? AND rowid=\?)\)$/,
  instances_by_token: /^SEARCH instances USING (COVERING )?INDEX instances_by_token \(organization_id=\? AND token_hash=\?\)$/,
  // A walk of a tag's rows (>), or a candidate's probe of another tag (=).
  "instance_tags key": /^SEARCH (instance_tags|tagged|other) USING PRIMARY KEY \(organization_id=\? AND tag=\? AND instance_id[>=]\?\)$/,
};

describe("the scale suite's reads, on an organization grown as it grows one, once the server has gathered statistics", () => {
  // Organization 1 grown to 4,000 copies of an instance the store wrote, organization 2 to 400,
  // their ids interleaved, as `npm run bench:scale` grows them to 1M (test-support/scale-shapes.ts).
  const executed: string[] = [];
  let db: Database.Database;
  let store: InstanceStore;
  let deepId: number;
  let tokenHash: Buffer;
  beforeAll(async () => {
    const file = databaseFile();
    const server = openSqlite(file);
    const writer = sqliteInstanceStore(server, sqliteEventWriter(server, defaultEventDelivery.maxPendingPerInstance));
    const templates: number[] = [];
    for (const name of ["big", "small"]) {
      const organizationId = server
        .prepare("INSERT INTO organizations (name, secret_hash, created_at) VALUES (?, randomblob(32), '') RETURNING id")
        .pluck()
        .get(name) as number;
      const outcome = await writer.create(
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
        const afterId = server.prepare("SELECT max(id) FROM instances").pluck().get() as number;
        for (const sql of copyInstancesSql("sqlite", template, count, afterId)) server.exec(sql);
      }
    gatherSqliteStatistics(server);
    deepId = server.prepare(deepCursorIdSql(1)).pluck().get() as number;
    tokenHash = server.prepare("SELECT token_hash FROM instances WHERE id = ?").pluck().get(deepId) as Buffer;
    server.close();
    db = new Database(file, { verbose: (sql) => executed.push(String(sql)) });
    store = sqliteInstanceStore(db, sqliteEventWriter(db, defaultEventDelivery.maxPendingPerInstance));
  });
  afterAll(() => db?.close());

  it.each(scaleReads.map((read) => [read.name, read] as const))("reads %s through its index: no scan, no sort", async (_name, read) => {
    executed.length = 0;
    if (read.kind === "get") expect(await store.get(1, deepId)).toMatchObject({ id: deepId });
    else if (read.kind === "token") expect(await store.findByTokenHash(1, tokenHash)).toMatchObject({ id: deepId });
    else await store.list(listQuery(1, { tags: read.tags ?? [], connectorKey: read.connectorKey, afterId: read.deep ? deepId : 0 }));
    const plans = executed.filter((sql) => sql.startsWith("SELECT")).map((sql) => planOf(db, sql));
    expect(plans.length).toBeGreaterThan(0);
    const steps = plans.flat();
    const reads = steps.filter((step) => /^(SEARCH|SCAN) (instances|instance_tags|tagged|other|kept)\b/.test(step));
    const expected = read.indexes.map((index) => planSteps[index]);
    expect(reads.filter((step) => !expected.some((pattern) => pattern.test(step)))).toEqual([]);
    for (const pattern of expected) expect(reads).toContainEqual(expect.stringMatching(pattern));
    expect(steps.filter((step) => scansOrSorts.test(step))).toEqual([]);
  });
});

describe("migration 8 (instance_tags)", () => {
  it("fills the table from the tags of the instances kept before it: every filter lists them as before", async () => {
    const file = databaseFile();
    const before = openSqlite(
      file,
      sqliteMigrations.filter((migration) => migration.version < 8),
    );
    const organization = before
      .prepare("INSERT INTO organizations (name, secret_hash, created_at) VALUES ('o', ?, '') RETURNING id")
      .pluck();
    const organizationIds = [organization.get(randomBytes(32)) as number, organization.get(randomBytes(32)) as number];
    const insert = before
      .prepare(
        `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at)
         VALUES (?, 'taxify', 'kept', ?, '{}', 'v1.sealed', ?, '', '') RETURNING id`,
      )
      .pluck();
    const kept = keptBefore.map(({ organization, tags }) => {
      const organizationId = organizationIds[organization]!;
      return { id: insert.get(organizationId, JSON.stringify(tags), randomBytes(32)) as number, organizationId, tags };
    });
    before.close();

    const storage = await openStorage({ kind: "sqlite", file });
    try {
      await expectListedAsBefore(storage, kept);
    } finally {
      await storage.close();
    }
  });
});

describe("migrations whose versions arrive out of order", () => {
  it("applies 10 once to a database that 9 and 11 reached first", () => {
    // 9 and 11 were released while 10 waited on a branch: a database at 11 gets 10 when it arrives.
    const file = databaseFile();
    openSqlite(
      file,
      sqliteMigrations.filter((migration) => migration.version <= 11 && migration.version !== 10),
    ).close();
    openSqlite(file).close();
    openSqlite(file).close();
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare("SELECT version FROM schema_migrations ORDER BY applied_at, version").pluck().all()).toEqual([
        ...sqliteMigrations.filter((migration) => migration.version <= 9).map((migration) => migration.version),
        11,
        10,
        ...sqliteMigrations.filter((migration) => migration.version > 11).map((migration) => migration.version),
      ]);
      expect(
        db
          .prepare("SELECT name FROM sqlite_master WHERE name IN ('instance_polls', 'instances_refresh_claimed_by') ORDER BY name")
          .pluck()
          .all(),
      ).toEqual(["instance_polls", "instances_refresh_claimed_by"]);
    } finally {
      db.close();
    }
  });
});

describe("statistics", () => {
  it("are gathered for a table never analyzed, within the analysis limit", () => {
    const db = openSqlite(databaseFile());
    try {
      db.exec(`
        INSERT INTO organizations (name, secret_hash, created_at) VALUES ('o', randomblob(32), '');
        WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
        INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at)
          SELECT 1, 'taxify', 'n', '[]', '{}', 'v1.sealed', randomblob(32), '', '' FROM n;`);
      const statistics = () => db.prepare("SELECT idx FROM sqlite_stat1 WHERE tbl = 'instances' ORDER BY idx").pluck().all();
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").pluck().get()).toBe(0);
      gatherSqliteStatistics(db);
      expect(statistics()).toContain("instances_by_organization");
      expect(db.pragma("analysis_limit", { simple: true })).toBe(1000);
    } finally {
      db.close();
    }
  });
});
