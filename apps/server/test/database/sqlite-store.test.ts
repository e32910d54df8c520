// The store contract on SQLite; the schema's indexes; and migration 8 on a database from before it.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openSqlite } from "../../src/database/sqlite.js";
import { sqliteMigrations } from "../../src/database/sqlite-migrations.js";
import { openStorage } from "../../src/storage.js";
import { storeContract } from "./store-contract.js";
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
