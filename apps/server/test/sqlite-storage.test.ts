// SQLite off the event loop (src/sqlite-storage.ts): one organization's slow reads hold neither the
// event loop nor another organization's reads; reads by key run on the event loop, past any walk,
// and see every acknowledged write; a write's follow-ups and their errors cross to the
// worker and back; a worker that dies fails what was under way with the 503 of an unavailable
// database, the health check says so, and every write acknowledged before it is kept.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { Caller } from "../src/accounts/store.js";
import { DatabaseUnavailableError } from "../src/database/errors.js";
import { withBuffers } from "../src/sqlite-storage-protocol.js";
import { openSqliteStorage, type SqliteStorage } from "../src/sqlite-storage.js";
import { listQuery, newInstance } from "./database/store-contract.js";
import { startTestServer } from "./harness.js";
import { until } from "./support/until.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function databaseFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sqlite-storage-"));
  dirs.push(dir);
  return path.join(dir, "instances.sqlite");
}

const account = (storage: SqliteStorage, name: string): Promise<Caller> =>
  storage.accounts.createAccount({ organizationName: name, organizationSecretHash: randomBytes(32), userSecretHash: randomBytes(32) });

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * `count` instances of the organization, half tagged "odd" and half "even", written straight into
 * the file: a list asking for both tags, its bound on candidates per page lifted (the API's pages
 * stop at candidatesPerPage), walks every row of one of them and keeps none, a read that holds its
 * thread for long.
 */
/** Two tags that never meet, the page's bound on candidates lifted: a list that walks all of one tag's rows. */
const walkAll = (organizationId: number) => listQuery(organizationId, { tags: ["odd", "even"], maxExamined: Number.MAX_SAFE_INTEGER });

function fillTagged(file: string, organizationId: number, count: number): void {
  const db = new Database(file);
  try {
    db.exec(`
      WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
      INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, token_hash, created_at, updated_at)
      SELECT ${organizationId}, 'taxify', 'n' || i, CASE WHEN i % 2 THEN '["odd"]' ELSE '["even"]' END, '{}', 'v1.sealed', randomblob(32), '', '' FROM n;
      INSERT INTO instance_tags (organization_id, tag, instance_id)
      SELECT organization_id, tags ->> 0, id FROM instances WHERE organization_id = ${organizationId};`);
  } finally {
    db.close();
  }
}

describe("one organization's slow reads on SQLite", { timeout: 120_000 }, () => {
  it("hold neither the event loop nor another organization's reads by id", async () => {
    const file = databaseFile();
    const storage = await openSqliteStorage(file, 100, 2);
    try {
      const big = await account(storage, "big");
      const small = await account(storage, "small");
      fillTagged(file, big.organizationId, 500_000);
      const created = await storage.instances.create(newInstance(small.organizationId));
      if (!("created" in created)) throw new Error("not created");
      const smallId = created.created.record.id;

      const slowReads: number[] = [];
      const reads: number[] = [];
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      let running = true;
      // The big organization's list, again and again, for two seconds: two tags that never meet,
      // the page's bound on candidates lifted, so that each read walks all of one tag's rows.
      const slow = (async () => {
        const until = performance.now() + 2_000;
        while (performance.now() < until) {
          const started = performance.now();
          expect((await storage.instances.list(walkAll(big.organizationId))).records).toEqual([]);
          slowReads.push(performance.now() - started);
        }
        running = false;
      })();
      // Meanwhile the small one reads its instance, a read every 10 ms.
      while (running) {
        const started = performance.now();
        expect((await storage.instances.get(small.organizationId, smallId))?.id).toBe(smallId);
        reads.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await slow;
      delay.disable();

      const slowRead = median(slowReads);
      const loopDelayP99 = delay.percentile(99) / 1e6;
      // Each slow read held its thread this long; on the event loop it would have held every
      // request as long (the delay's p99 at least that), and the small organization's reads with them.
      expect(slowRead).toBeGreaterThan(40);
      expect(loopDelayP99).toBeLessThan(slowRead / 4);
      expect(median(reads)).toBeLessThan(slowRead / 4);
    } finally {
      await storage.close();
    }
  });
});

describe("a read by key on SQLite", { timeout: 120_000 }, () => {
  it("runs on the event loop: it neither waits behind a walk that holds the only reader thread nor misses the write just acknowledged", async () => {
    const file = databaseFile();
    const storage = await openSqliteStorage(file, 100, 1);
    try {
      const big = await account(storage, "big");
      const small = await account(storage, "small");
      fillTagged(file, big.organizationId, 500_000);
      const slowReads: number[] = [];
      const reads: number[] = [];
      let running = true;
      const slow = (async () => {
        const until = performance.now() + 2_000;
        while (performance.now() < until) {
          const started = performance.now();
          await storage.instances.list(walkAll(big.organizationId));
          slowReads.push(performance.now() - started);
        }
        running = false;
      })();
      // Each instance written, then read at once: through the one reader thread, the read would
      // queue behind the walk under way there.
      while (running) {
        const created = await storage.instances.create(newInstance(small.organizationId));
        if (!("created" in created)) throw new Error("not created");
        const started = performance.now();
        expect((await storage.instances.get(small.organizationId, created.created.record.id))?.id).toBe(created.created.record.id);
        reads.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await slow;
      expect(median(slowReads)).toBeGreaterThan(40);
      expect(median(reads)).toBeLessThan(median(slowReads) / 4);
    } finally {
      await storage.close();
    }
  });

  it("is the 503 of an unavailable database once a thread has died, though a reader thread still runs", async () => {
    const storage = await openSqliteStorage(databaseFile(), 100, 1);
    const caller = await account(storage, "o");
    const tokenHash = randomBytes(32);
    const created = await storage.instances.create(newInstance(caller.organizationId, { tokenHash }));
    if (!("created" in created)) throw new Error("not created");
    await storage.threads[0]!.terminate();
    await storage.lost;
    await expect(storage.instances.get(caller.organizationId, created.created.record.id)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(storage.instances.findByTokenHash(caller.organizationId, tokenHash)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await storage.close();
  });
});

describe("a write through the worker", () => {
  it("calls its follow-ups on the event loop inside its transaction, and gives back what they throw", async () => {
    const storage = await openSqliteStorage(databaseFile(), 100, 1);
    try {
      const caller = await account(storage, "o");
      const seen: number[] = [];
      const idempotency = { key: "k", requestHash: "h", expiredBefore: "" };
      const first = await storage.instances.create(newInstance(caller.organizationId), idempotency, (record) => {
        seen.push(record.id);
        return { sealedResponse: `answer of ${record.id}` };
      });
      if (!("created" in first)) throw new Error("not created");
      expect(seen).toEqual([first.created.record.id]);
      expect(await storage.instances.create(newInstance(caller.organizationId), idempotency)).toEqual({
        replay: { requestHash: "h", sealedResponse: `answer of ${first.created.record.id}` },
      });

      class SealingFailed extends Error {}
      const thrown = new SealingFailed("the key is gone");
      await expect(
        storage.instances.create(newInstance(caller.organizationId, { name: "rolled back" }), undefined, () => {
          throw thrown;
        }),
      ).rejects.toBe(thrown);
      const names = (await storage.instances.list(listQuery(caller.organizationId))).records.map((record) => record.name);
      expect(names).toEqual(["n"]);
    } finally {
      await storage.close();
    }
  });

  it("keeps an own __proto__ key data when it rebuilds what crossed (fixed: a vendor's record lost it)", () => {
    const record = JSON.parse('{"id": "r", "__proto__": {"polluted": true}, "bytes": [1]}') as Record<string, unknown>;
    const crossed = withBuffers(structuredClone({ record, sealed: new Uint8Array([1, 2]) }));
    expect(Object.keys(crossed.record)).toEqual(["id", "__proto__", "bytes"]);
    expect(Object.getPrototypeOf(crossed.record)).toBe(Object.prototype);
    expect(JSON.stringify(crossed.record)).toBe(JSON.stringify(record));
    expect(Buffer.isBuffer(crossed.sealed)).toBe(true);
  });

  it("rebuilds what crossed in place, replacing only its Buffers", () => {
    const crossed = structuredClone({ records: [{ id: 1, tokenHash: Buffer.from([1, 2]), tags: ["t"] }] });
    const { records } = crossed;
    const tags = records[0]!.tags;
    expect(withBuffers(crossed)).toBe(crossed);
    expect(crossed.records).toBe(records);
    expect(crossed.records[0]!.tags).toBe(tags);
    expect(Buffer.isBuffer(crossed.records[0]!.tokenHash)).toBe(true);
  });

  it("keeps Buffers Buffers both ways", async () => {
    const storage = await openSqliteStorage(databaseFile(), 100, 1);
    try {
      const caller = await account(storage, "o");
      const tokenHash = randomBytes(32);
      const created = await storage.instances.create(newInstance(caller.organizationId, { tokenHash }));
      if (!("created" in created)) throw new Error("not created");
      const found = await storage.instances.findByTokenHash(caller.organizationId, tokenHash);
      expect(Buffer.isBuffer(found?.tokenHash)).toBe(true);
      expect(found?.tokenHash.equals(tokenHash)).toBe(true);
    } finally {
      await storage.close();
    }
  });
});

describe("a SQLite worker thread that dies mid-write", { timeout: 60_000 }, () => {
  it("fails what was under way with the database unavailable, says so, and keeps every acknowledged write", async () => {
    const file = databaseFile();
    const storage = await openSqliteStorage(file, 100, 1);
    const caller = await account(storage, "o");
    // Writers that write again as soon as a write is acknowledged, until one fails.
    const acknowledged: number[] = [];
    const failed: unknown[] = [];
    const writer = async (n: number) => {
      for (let i = 0; ; i++) {
        try {
          const outcome = await storage.instances.create(newInstance(caller.organizationId, { name: `w${n}-${i}` }));
          if ("created" in outcome) acknowledged.push(outcome.created.record.id);
        } catch (error) {
          failed.push(error);
          return;
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, n) => writer(n));
    await until(() => (acknowledged.length >= 50 ? true : undefined));
    await storage.threads[0]!.terminate();
    await Promise.all(writers);

    expect(failed).toHaveLength(8);
    for (const error of failed) expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(await storage.lost).toBeInstanceOf(Error);
    await expect(storage.ping()).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(storage.instances.create(newInstance(caller.organizationId))).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await storage.close();

    const reopened = await openSqliteStorage(file, 100, 1);
    try {
      const kept = await Promise.all(acknowledged.map((id) => reopened.instances.get(caller.organizationId, id)));
      expect(kept.map((record) => record?.id)).toEqual(acknowledged);
    } finally {
      await reopened.close();
    }
  });

  it("makes /healthz and the API answer 503 under a running server", async () => {
    const t = await startTestServer();
    try {
      await (t.server.storage as SqliteStorage).threads[0]!.terminate();
      const health = await fetch(`${t.server.url}/healthz`);
      expect(health.status).toBe(503);
      const create = await t.api("/instances", {
        method: "POST",
        json: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "n" },
      });
      expect(create.status).toBe(503);
      expect(((await create.json()) as { status: number }).status).toBe(503);
    } finally {
      await t.stop();
    }
  });
});
