// The store contract on SQLite; SQLite's plans for the statements the store runs (values bound, as
// run); and migration 8 on a database from before it.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { defaultEventDelivery } from "../../src/config.js";
import { openSqlite } from "../../src/database/sqlite.js";
import { sqliteEventWriter } from "../../src/events/sqlite-event-store.js";
import { sqliteMigrations } from "../../src/database/sqlite-migrations.js";
import { sqliteInstanceStore } from "../../src/instances/sqlite-instance-store.js";
import type { InstanceStore } from "../../src/instances/store.js";
import { openStorage } from "../../src/storage.js";
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

describe("the SQLite schema", () => {
  it("finds an instance by its token's hash through the index on (organization_id, token_hash)", () => {
    const db = openSqlite(databaseFile());
    try {
      const plan = db
        .prepare("EXPLAIN QUERY PLAN SELECT id, token_hash FROM instances WHERE organization_id = ? AND token_hash = ?")
        .all(1, Buffer.alloc(32)) as { detail: string }[];
      expect(plan.map((step) => step.detail)).toEqual([
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
    const file = databaseFile();
    openSqlite(file).close();
    const executed: string[] = [];
    const db = new Database(file, { verbose: (sql) => executed.push(String(sql)) });
    try {
      db.prepare("INSERT INTO organizations (name, secret_hash, created_at) VALUES ('o', ?, '')").run(randomBytes(32));
      await work(sqliteInstanceStore(db, sqliteEventWriter(db, defaultEventDelivery.maxPendingPerInstance)));
      const plans = executed
        .filter((sql) => /\binstance_tags\b/.test(sql) && !sql.startsWith("INSERT"))
        .map((sql) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((step) => step.detail));
      expect(plans.length).toBeGreaterThan(0);
      for (const plan of plans) {
        expect(plan).toContainEqual(
          expect.stringMatching(/^SEARCH (instance_tags|tagged) USING PRIMARY KEY \(organization_id=\? AND tag=\?/),
        );
        expect(
          plan.filter((step) => /^SCAN (instances|instance_tags|tagged)\b|TEMP B-TREE FOR (RIGHT PART OF )?ORDER BY/.test(step)),
        ).toEqual([]);
      }
    } finally {
      db.close();
    }
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
