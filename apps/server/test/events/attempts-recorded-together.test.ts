// Attempts recorded together (events/recorded-together.ts on PostgreSQL, the group commit on
// SQLite): attempts recorded at once come to what each would have come to alone, each settled
// delivery's instance gets its next head, and a batch that fails midway keeps nothing of it on
// PostgreSQL (one transaction) or nothing of the failing attempt on SQLite (its savepoint): every
// attempt not recorded stays pending under its lease, is claimed again once the lease ends, and
// goes out then (at least once), and none recorded is claimed again.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgresCluster } from "@instances-api/postgres-cluster";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InstanceBody } from "../../src/api-types.js";
import type { Caller } from "../../src/accounts/store.js";
import type { AttemptOutcome, Delivery } from "../../src/events/outbox.js";
import { recordedTogether } from "../../src/events/recorded-together.js";
import { newSigningSecret } from "../../src/events/signing-secret.js";
import type { FollowUps, NewInstance } from "../../src/instances/store.js";
import { sealingContexts } from "../../src/secrets/contexts.js";
import { createSecretBox } from "../../src/secrets/secret-box.js";
import { openStorage, type Storage } from "../../src/storage.js";
import { delivered, notifyingInstance } from "./outbox-fixtures.js";

describe("recordedTogether", () => {
  /** A recorder whose batches are kept, each failing when `fail` says so. */
  const recorder = (maxBatch: number, fail?: (batch: string[]) => boolean) => {
    const batches: string[][] = [];
    const record = recordedTogether<string>(
      (batch) => {
        batches.push(batch);
        return fail?.(batch) ? Promise.reject(new Error(`batch ${batches.length} failed`)) : Promise.resolve();
      },
      (item) => item.split(":")[0],
      maxBatch,
    );
    return { batches, record };
  };

  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it("records the calls of one turn in one batch, those made while it is recorded in the next, each settled after its own", async () => {
    const batches: string[][] = [];
    const release: (() => void)[] = [];
    const record = recordedTogether<string>(
      (batch) => {
        batches.push(batch);
        return new Promise<void>((resolve) => release.push(resolve));
      },
      (item) => item,
      100,
    );
    const settled: string[] = [];
    const call = (item: string) => record(item).then(() => void settled.push(item));
    const first = [call("1"), call("2")];
    await Promise.resolve();
    first.push(call("3")); // the same turn still
    await turn();
    expect(batches).toEqual([["1", "2", "3"]]);
    const second = [call("4"), call("5")];
    await turn();
    await turn();
    expect(batches).toHaveLength(1); // the first is being recorded
    expect(settled).toEqual([]);
    release[0]!();
    await Promise.all(first);
    await turn();
    expect(batches).toEqual([
      ["1", "2", "3"],
      ["4", "5"],
    ]);
    expect(settled).toEqual(["1", "2", "3"]);
    release[1]!();
    await Promise.all(second);
    expect(settled).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("never puts two calls of one key in a batch, nor more than the most, and keeps their order", async () => {
    const { batches, record } = recorder(3);
    await Promise.all(["a:1", "b:1", "a:2", "c:1", "d:1", "e:1", "f:1", "g:1"].map(record));
    expect(batches).toEqual([
      ["a:1", "b:1"],
      ["a:2", "c:1", "d:1"],
      ["e:1", "f:1", "g:1"],
    ]);
  });

  it("fails every call of a failing batch, none of another, and goes on with the next", async () => {
    const { batches, record } = recorder(2, (batch) => batch.includes("2"));
    const results = await Promise.allSettled(["1", "2", "3", "4"].map(record));
    expect(batches).toEqual([
      ["1", "2"],
      ["3", "4"],
    ]);
    expect(results.map((result) => result.status)).toEqual(["rejected", "rejected", "fulfilled", "fulfilled"]);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error("batch 1 failed"));
  });
});

const secretBox = createSecretBox(randomBytes(32));
const url = "https://receiver.invalid/events"; // never sent to: nothing here delivers

/** One store, and how to make the recording of one delivery's attempts fail (a trigger) and undo that. */
interface Opened {
  storage: Storage;
  failAttemptsOf(deliveryId: number): Promise<void>;
  stopFailing(): Promise<void>;
  close(): Promise<void>;
}

const stores: [string, () => Promise<Opened>][] = [
  [
    "SQLite",
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "recorded-together-"));
      const file = path.join(dir, "instances.sqlite");
      const storage = await openStorage({ kind: "sqlite", file });
      const side = new Database(file);
      return {
        storage,
        failAttemptsOf: (id) =>
          Promise.resolve(
            void side.exec(`CREATE TRIGGER failing BEFORE UPDATE OF attempts ON event_deliveries
                            WHEN OLD.id = ${id} BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`),
          ),
        stopFailing: () => Promise.resolve(void side.exec("DROP TRIGGER failing")),
        close: async () => {
          side.close();
          await storage.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    "PostgreSQL",
    async () => {
      const cluster = await startPostgresCluster();
      const storage = await openStorage({ kind: "postgres", url: cluster.url });
      const side = new pg.Client({ connectionString: cluster.url });
      await side.connect();
      return {
        storage,
        failAttemptsOf: async (id) =>
          void (await side.query(`
            CREATE FUNCTION failing() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'the disk is full'; END $$;
            CREATE TRIGGER failing BEFORE UPDATE ON event_deliveries FOR EACH ROW
              WHEN (OLD.id = ${id} AND NEW.attempts <> OLD.attempts) EXECUTE FUNCTION failing();`)),
        stopFailing: async () => void (await side.query("DROP TRIGGER failing ON event_deliveries; DROP FUNCTION failing()")),
        close: async () => {
          await side.end();
          await storage.close();
          cluster.stop();
        },
      };
    },
  ],
];

describe.each(stores)("attempts recorded together on %s", (name, open) => {
  let opened: Opened;
  let storage: Storage;
  let caller: Caller;
  beforeAll(async () => {
    opened = await open();
    storage = opened.storage;
    caller = await storage.accounts.createAccount({
      organizationName: "o",
      organizationSecretHash: randomBytes(32),
      userSecretHash: randomBytes(32),
    });
  }, 60_000);
  afterAll(() => opened?.close());

  const created: FollowUps = (record) => ({
    event: {
      type: "instance.created",
      notification: { data: { id: record.id } as unknown as InstanceBody, callbackUrl: url },
      newSigningSecret: secretBox.seal(newSigningSecret(), sealingContexts.eventSigningSecret(record.organizationId, record.id)),
    },
  });
  const updated: FollowUps = (record) => ({
    event: { type: "instance.updated", notification: { data: { id: record.id } as unknown as InstanceBody, callbackUrl: url } },
  });
  const instance = (): NewInstance => notifyingInstance(caller.organizationId, url);
  /** `count` instances with two events each (created, updated): the first their head. */
  const instances = async (count: number): Promise<number[]> => {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const outcome = await storage.instances.create(instance(), undefined, created);
      if (!("created" in outcome)) throw new Error("expected a create");
      await storage.instances.update(caller.organizationId, outcome.created.record.id, undefined, {}, updated);
      ids.push(outcome.created.record.id);
    }
    return ids;
  };
  const claim = async (owner: string, now: number, ids: number[]) =>
    (await storage.events.claimDue(owner, now, now + 60_000, 100)).filter((d) => ids.includes(d.instanceId));
  /** Each instance's deliveries, oldest first: [event type, status, attempts]. */
  const states = async (ids: number[]) =>
    Promise.all(
      ids.map(async (id) =>
        (await storage.events.listForInstance(caller.organizationId, id, 100)).reverse().map((d) => [d.eventType, d.status, d.attempts]),
      ),
    );

  it("comes to what each attempt would alone: delivered, retried, failed, or nothing for a lost lease", async () => {
    const ids = await instances(4);
    const now = Date.now();
    const heads = await claim("together", now, ids);
    expect(heads.map((d) => d.instanceId)).toEqual(ids);
    const outcomes: AttemptOutcome[] = [
      delivered(now),
      { attemptAt: now, status: 500, error: "the receiver answered 500", delivered: false, nextAttemptAt: now + 30_000 },
      { attemptAt: now, status: 410, error: "the receiver answered 410 Gone", delivered: false, nextAttemptAt: undefined },
      delivered(now),
    ];
    // The last one's lease is another replica's: its attempt changes nothing.
    await Promise.all(heads.map((d, i) => storage.events.recordAttempt(d.id, i === 3 ? "someone else" : "together", outcomes[i]!)));
    expect(await states(ids)).toEqual([
      [
        ["instance.created", "delivered", 1],
        ["instance.updated", "pending", 0],
      ],
      [
        ["instance.created", "pending", 1],
        ["instance.updated", "pending", 0],
      ],
      [
        ["instance.created", "failed", 1],
        ["instance.updated", "pending", 0],
      ],
      [
        ["instance.created", "pending", 0],
        ["instance.updated", "pending", 0],
      ],
    ]);
    // The settled ones' next events are their heads now; the retried one waits; the lost lease's still runs.
    const next = await claim("next", now, ids);
    expect(next.map((d) => [d.instanceId, d.eventType])).toEqual([
      [ids[0], "instance.updated"],
      [ids[2], "instance.updated"],
    ]);
  });

  it("keeps no attempt it could not record: claimed again once its lease ends, and sent then", async () => {
    const ids = await instances(3);
    const now = Date.now();
    const heads = await claim("failing", now, ids);
    expect(heads).toHaveLength(3);
    await opened.failAttemptsOf(heads[1]!.id);
    let results: PromiseSettledResult<void>[];
    try {
      results = await Promise.allSettled(heads.map((d) => storage.events.recordAttempt(d.id, "failing", delivered(now))));
    } finally {
      await opened.stopFailing();
    }
    const failed = results.flatMap((result, i) => (result.status === "rejected" ? [heads[i]!.instanceId] : []));
    // PostgreSQL records the batch in one transaction: all of it fails. SQLite's group commit runs
    // each attempt in its own savepoint: only the failing one.
    expect(failed).toEqual(name === "PostgreSQL" ? ids : [ids[1]]);
    const recorded = ids.filter((id) => !failed.includes(id));
    const state = await states(ids);
    for (const [i, id] of ids.entries())
      expect(state[i]![0]).toEqual(failed.includes(id) ? ["instance.created", "pending", 0] : ["instance.created", "delivered", 1]);

    // Under their lease, the failed ones are not claimed; the recorded ones' next events are.
    const meanwhile = await claim("another", now, ids);
    expect(meanwhile.map((d) => [d.instanceId, d.eventType])).toEqual(recorded.map((id) => [id, "instance.updated"]));
    // Once the lease has ended, the failed ones' attempts are made again: the same deliveries.
    const later = now + 61_000;
    const again: Delivery[] = await claim("again", later, failed);
    expect(again.map((d) => d.id)).toEqual(heads.filter((d) => failed.includes(d.instanceId)).map((d) => d.id));
    await Promise.all(again.map((d) => storage.events.recordAttempt(d.id, "again", delivered(later))));
    expect((await states(failed)).map((deliveries) => deliveries[0])).toEqual(failed.map(() => ["instance.created", "delivered", 1]));
  });
});
