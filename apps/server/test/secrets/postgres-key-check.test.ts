// The key check on PostgreSQL, where replicas share it in the database: replicas starting together
// on an empty database agree on one key check; a replica with another ENCRYPTION_KEY, or without
// its key file while the database holds sealed data, refuses to start; a database from before the
// check gets one from the right key only.
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedConfig } from "../../src/config.js";
import { KeyMismatchError } from "../../src/secrets/errors.js";
import { createSecretBox } from "../../src/secrets/secret-box.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { refusedStart } from "../cli-process.js";

let cluster: PostgresCluster;
let databases = 0;
const timeout = 60_000; // generous: starts on a loaded machine can take seconds

beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(() => cluster.stop());

const keyA = Buffer.alloc(32, 0xa1);
const keyB = Buffer.alloc(32, 0xb2);

/** A new, empty database in the cluster: its URL. */
async function emptyDatabase(): Promise<string> {
  const name = `keycheck${++databases}`;
  await query(cluster.url, `CREATE DATABASE ${name}`);
  return cluster.url.replace(/\/[^/]+$/, `/${name}`);
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** A replica on `url`: ENCRYPTION_KEY `key`, or the key file of its own fresh data dir. */
function replica(url: string, key: Buffer | undefined, announce: (line: string) => void = () => undefined): Promise<RunningServer> {
  return startServer({
    config: embeddedConfig(mkdtempSync(path.join(tmpdir(), "pg-key-")), {
      storage: { kind: "postgres", url },
      encryptionKey: key,
      logLevel: "silent",
    }),
    announce,
  });
}

async function keyChecks(url: string): Promise<string[]> {
  return ((await query(url, "SELECT sealed FROM key_check")) as { sealed: string }[]).map((row) => row.sealed);
}

const opensWith = (key: Buffer, sealed: string) => createSecretBox(key).open(sealed, "key-check") === "instances-api key check";

/** Starts a replica with `key`, creates an instance with a secret entry, stops it. */
async function sealedDatabase(key: Buffer | undefined): Promise<string> {
  const url = await emptyDatabase();
  let authorization = "";
  const server = await replica(url, key, (line) => (authorization = /Authorization: (.*)$/.exec(line)![1]!));
  const created = await fetch(`${server.apiUrl}/instances`, {
    method: "POST",
    headers: { Authorization: authorization, "Content-Type": "application/json", "Idempotency-Key": "k" },
    body: JSON.stringify({ your_mom: { key: "taxify" }, configuration: { "api.key": "sealed" }, name: "n" }),
  });
  expect(created.status).toBe(200);
  await server.close();
  return url;
}

describe("replicas starting together on an empty database", { timeout }, () => {
  it("with one ENCRYPTION_KEY all start, and there is one key check", async () => {
    const url = await emptyDatabase();
    const started = await Promise.all([replica(url, keyA), replica(url, keyA), replica(url, keyA)]);
    await Promise.all(started.map((server) => server.close()));
    const checks = await keyChecks(url);
    expect(checks).toHaveLength(1);
    expect(opensWith(keyA, checks[0]!)).toBe(true);
  });

  it.each([1, 2, 3, 4, 5])("with two keys agree on one key check: exactly one starts (round %i)", async () => {
    const url = await emptyDatabase();
    const outcomes = await Promise.allSettled([replica(url, keyA), replica(url, keyB)]);
    const started = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    const refused = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as unknown] : []));
    await Promise.all(started.map((server) => server.close()));
    expect(started).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(KeyMismatchError);

    const checks = await keyChecks(url);
    expect(checks).toHaveLength(1);
    const winner = outcomes[0].status === "fulfilled" ? keyA : keyB;
    expect(opensWith(winner, checks[0]!)).toBe(true);
  });
});

describe("a replica that joins a database holding sealed data", { timeout }, () => {
  it("with a different ENCRYPTION_KEY refuses to start, in one line", async () => {
    const url = await sealedDatabase(keyA);
    const result = refusedStart({
      DATABASE_URL: url,
      ENCRYPTION_KEY: keyB.toString("base64"),
      DATA_DIR: mkdtempSync(path.join(tmpdir(), "pg-key-")),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      "instances-api: the encryption key does not match the stored data: ENCRYPTION_KEY does not open the data in the database; start with the key it was sealed with\n",
    );
    const server = await replica(url, keyA); // the right key still starts
    await server.close();
  });

  it("without ENCRYPTION_KEY and without a key file refuses to start, and makes no key file", async () => {
    const url = await sealedDatabase(keyA);
    const dataDir = mkdtempSync(path.join(tmpdir(), "pg-key-"));
    const result = refusedStart({ DATABASE_URL: url, DATA_DIR: dataDir });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^instances-api: the encryption key does not match the stored data: the key file .*encryption\.key is missing[^\n]*\n$/,
    );
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("from before the key check: a wrong key is refused, and the right one writes the check", async () => {
    const url = await sealedDatabase(keyA);
    await query(url, "DELETE FROM key_check");

    await expect(replica(url, keyB)).rejects.toBeInstanceOf(KeyMismatchError);
    expect(await keyChecks(url)).toEqual([]);

    const server = await replica(url, keyA);
    await server.close();
    const checks = await keyChecks(url);
    expect(checks).toHaveLength(1);
    expect(opensWith(keyA, checks[0]!)).toBe(true);
    await expect(replica(url, keyB)).rejects.toBeInstanceOf(KeyMismatchError);
  });
});
