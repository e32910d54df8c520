// The store contract on PostgreSQL, and migration 8 on a database from before it.
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import pg from "pg";
import { afterAll, beforeAll, describe, it } from "vitest";
import { openPostgres } from "../../src/database/postgres.js";
import { postgresMigrations } from "../../src/database/postgres-migrations.js";
import { openStorage } from "../../src/storage.js";
import { storeContract } from "./store-contract.js";
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
