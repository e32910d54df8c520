// Attempts recorded together (events/recorded-together.ts on PostgreSQL, the group commit on
// SQLite), attacked as a hostile tenant, or a failing database, would: an attempt whose lease
// another replica has taken over records nothing, and one recorded twice counts once (both
// stores); on PostgreSQL, a batch whose connection is killed mid-way keeps nothing and fails every
// caller (each attempt is made again once its lease ends: at least once, never lost), a batch
// stuck behind a row lock (a transaction that hangs on to one tenant's delivery) is cut after a
// bound, so that every other tenant's attempts, recorded one batch at a time behind it, are not
// held back for as long as that lock is, and a tenant turning its notifications off while its
// head's attempt is recorded deadlocks with nobody.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgresCluster } from "@instances-api/postgres-cluster";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InstanceBody } from "../../src/api-types.js";
import type { Caller } from "../../src/accounts/store.js";
import { newSigningSecret } from "../../src/events/signing-secret.js";
import type { FollowUps, NewInstance } from "../../src/instances/store.js";
import { sealingContexts } from "../../src/secrets/contexts.js";
import { createSecretBox } from "../../src/secrets/secret-box.js";
import { openStorage, type Storage } from "../../src/storage.js";
import { delivered, notifyingInstance } from "./outbox-fixtures.js";

const secretBox = createSecretBox(randomBytes(32));
const url = "https://receiver.invalid/events"; // never sent to: nothing here delivers

interface Opened {
  storage: Storage;
  /** A connection of its own to the same database (PostgreSQL only). */
  side?: pg.Client;
  close(): Promise<void>;
}

const stores: [string, () => Promise<Opened>][] = [
  [
    "SQLite",
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "attempts-attacks-"));
      const storage = await openStorage({ kind: "sqlite", file: path.join(dir, "instances.sqlite") });
      return {
        storage,
        close: async () => {
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
        side,
        close: async () => {
          await side.end();
          await storage.close();
          cluster.stop();
        },
      };
    },
  ],
];

describe.each(stores)("attempts attacked on %s", (name, open) => {
  let opened: Opened;
  let storage: Storage;
  const tenants: Caller[] = [];
  beforeAll(async () => {
    opened = await open();
    storage = opened.storage;
    for (const organizationName of ["hostile", "bystander"])
      tenants.push(
        await storage.accounts.createAccount({
          organizationName,
          organizationSecretHash: randomBytes(32),
          userSecretHash: randomBytes(32),
        }),
      );
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
  const instance = (tenant: Caller): NewInstance => notifyingInstance(tenant.organizationId, url);
  /** An instance of `tenant`'s with two events (created, updated): the first its head. */
  const instanceOf = async (tenant: Caller): Promise<number> => {
    const outcome = await storage.instances.create(instance(tenant), undefined, created);
    if (!("created" in outcome)) throw new Error("expected a create");
    await storage.instances.update(tenant.organizationId, outcome.created.record.id, undefined, {}, updated);
    return outcome.created.record.id;
  };
  /** The heads of `ids` that `owner` claims at `now`, in the order of `ids`. */
  const claim = async (owner: string, now: number, ids: number[]) => {
    const claimed = await storage.events.claimDue(owner, now, now + 60_000, 100);
    return ids.flatMap((id) => claimed.filter((delivery) => delivery.instanceId === id));
  };
  /** An instance's first delivery: [status, attempts]. */
  const first = async (tenant: Caller, id: number) => {
    const deliveries = await storage.events.listForInstance(tenant.organizationId, id, 100);
    const oldest = deliveries.at(-1)!;
    return [oldest.status, oldest.attempts];
  };

  it("records nothing for a lease another replica took over, and an attempt recorded twice once", async () => {
    const [hostile] = tenants;
    const id = await instanceOf(hostile!);
    const now = Date.now();
    const [stale] = await claim("slow replica", now, [id]);
    // The slow replica's lease ran out; another claimed the same delivery and made its attempt.
    const later = now + 61_000;
    const [taken] = await claim("other replica", later, [id]);
    expect(taken?.id).toBe(stale!.id);
    await storage.events.recordAttempt(stale!.id, "slow replica", delivered(later));
    expect(await first(hostile!, id)).toEqual(["pending", 0]);
    // Still the other replica's: nobody else claims it.
    expect(await claim("third replica", later, [id])).toEqual([]);
    // The holder records its attempt twice at once (a retry of its own): counted once.
    await Promise.all([
      storage.events.recordAttempt(taken!.id, "other replica", delivered(later)),
      storage.events.recordAttempt(taken!.id, "other replica", delivered(later)),
    ]);
    expect(await first(hostile!, id)).toEqual(["delivered", 1]);
    // The stale replica's late record still changes nothing; the next event is the head now.
    await storage.events.recordAttempt(stale!.id, "slow replica", { ...delivered(later), delivered: false, status: 500 });
    expect(await first(hostile!, id)).toEqual(["delivered", 1]);
    expect((await claim("third replica", later, [id])).map((d) => d.eventType)).toEqual(["instance.updated"]);
  });

  /** The backend of the batch waiting for a lock, once it waits. */
  const waitingBatch = async (side: pg.Client): Promise<number> => {
    for (let tries = 0; tries < 200; tries++) {
      // Read afresh: inside a transaction, the statistics are a snapshot taken at their first read.
      await side.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await side.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%unnest%' AND pid <> pg_backend_pid()",
      );
      if (rows[0]) return rows[0].pid;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error("no batch waits for the lock");
  };

  // PostgreSQL's alone: SQLite has no row locks, and no connection to kill.
  if (name === "PostgreSQL")
    it("keeps nothing of a batch whose connection is killed mid-way: every caller fails, every attempt is made again after its lease", async () => {
      const [hostile, bystander] = tenants;
      const side = opened.side!;
      const ids = [await instanceOf(hostile!), await instanceOf(bystander!)];
      const now = Date.now();
      const heads = await claim("replica", now, ids);
      expect(heads).toHaveLength(2);
      // The hostile tenant's delivery is locked (a write of its own under way), so the batch waits mid-way.
      await side.query("BEGIN");
      await side.query("SELECT id FROM event_deliveries WHERE id = $1 FOR UPDATE", [heads[0]!.id]);
      const recording = Promise.allSettled(heads.map((d) => storage.events.recordAttempt(d.id, "replica", delivered(now))));
      try {
        await side.query("SELECT pg_terminate_backend($1)", [await waitingBatch(side)]);
      } finally {
        await side.query("ROLLBACK");
      }
      const results = await recording;
      expect(results.map((result) => result.status)).toEqual(["rejected", "rejected"]);
      expect([await first(hostile!, ids[0]!), await first(bystander!, ids[1]!)]).toEqual([
        ["pending", 0],
        ["pending", 0],
      ]);
      // Under their lease, nobody else makes them; once it has ended, they are made again, and
      // recorded (the next batch goes on, on a new connection).
      expect(await claim("another", now, ids)).toEqual([]);
      const later = now + 61_000;
      const again = await claim("another", later, ids);
      expect(again.map((d) => d.id)).toEqual(heads.map((d) => d.id));
      await Promise.all(again.map((d) => storage.events.recordAttempt(d.id, "another", delivered(later))));
      expect([await first(hostile!, ids[0]!), await first(bystander!, ids[1]!)]).toEqual([
        ["delivered", 1],
        ["delivered", 1],
      ]);
    }, 30_000);

  if (name === "PostgreSQL")
    it("cuts a batch stuck behind a lock, so that the other tenants' attempts after it are recorded while the lock is held", async () => {
      const [hostile, bystander] = tenants;
      const side = opened.side!;
      const ids = [await instanceOf(hostile!), await instanceOf(bystander!), await instanceOf(bystander!)];
      const now = Date.now();
      const heads = await claim("replica", now, ids);
      expect(heads).toHaveLength(3);
      // A transaction that hangs on to the hostile tenant's delivery, for longer than any lease.
      await side.query("BEGIN");
      await side.query("SELECT id FROM event_deliveries WHERE id = $1 FOR UPDATE", [heads[0]!.id]);
      try {
        const stuck = Promise.allSettled(heads.slice(0, 2).map((d) => storage.events.recordAttempt(d.id, "replica", delivered(now))));
        await waitingBatch(side);
        // Recorded in the batch after the stuck one: it waits for that one, and no longer than its bound.
        const started = Date.now();
        await storage.events.recordAttempt(heads[2]!.id, "replica", delivered(now));
        expect(Date.now() - started).toBeLessThan(15_000);
        expect(await first(bystander!, ids[2]!)).toEqual(["delivered", 1]);
        // The stuck batch failed as a whole: its attempts are made again once their leases end.
        expect((await stuck).map((result) => result.status)).toEqual(["rejected", "rejected"]);
        expect(await first(bystander!, ids[1]!)).toEqual(["pending", 0]);
      } finally {
        await side.query("ROLLBACK");
      }
    }, 30_000);

  /** Waits until `count` backends other than the side's wait for a lock. */
  const waitingForLocks = async (side: pg.Client, count: number): Promise<void> => {
    for (let tries = 0; tries < 200; tries++) {
      await side.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await side.query<{ waiting: number }>(
        "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
      );
      if (rows[0]!.waiting >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`fewer than ${count} wait for a lock`);
  };

  if (name === "PostgreSQL")
    it("turns a tenant's notifications off while its head's attempt is being recorded: no deadlock, the write and the batch both go through", async () => {
      const [hostile, bystander] = tenants;
      const side = opened.side!;
      // Its head and a few deliveries queued behind it.
      const id = await instanceOf(hostile!);
      for (let i = 0; i < 4; i++) await storage.instances.update(hostile!.organizationId, id, undefined, {}, updated);
      const other = await instanceOf(bystander!);
      const now = Date.now();
      const heads = await claim("replica", now, [id, other]);
      expect(heads).toHaveLength(2);
      // The batch locks the hostile tenant's head, then waits for the bystander's (locked here),
      // which holds it between its attempts and its promotion of the next heads.
      await side.query("BEGIN");
      await side.query("SELECT id FROM event_deliveries WHERE id = $1 FOR UPDATE", [heads[1]!.id]);
      let written: Promise<unknown>;
      let recording: Promise<PromiseSettledResult<void>[]>;
      try {
        recording = Promise.allSettled(heads.map((d) => storage.events.recordAttempt(d.id, "replica", delivered(now))));
        await waitingBatch(side);
        // Meanwhile the tenant turns its notifications off: its pending deliveries are dropped.
        const off: FollowUps = () => ({ event: { type: "instance.updated" } });
        written = storage.instances.update(hostile!.organizationId, id, undefined, {}, off);
        written.catch(() => undefined);
        await waitingForLocks(side, 2);
      } finally {
        await side.query("ROLLBACK");
      }
      expect((await recording).map((result) => result.status)).toEqual(["fulfilled", "fulfilled"]);
      await expect(written).resolves.toMatchObject({ enqueued: false });
      const deliveries = (await storage.events.listForInstance(hostile!.organizationId, id, 100)).reverse();
      expect(deliveries.map((d) => d.status)).toEqual(["delivered", "dropped", "dropped", "dropped", "dropped", "dropped"]);
      expect(await first(bystander!, other)).toEqual(["delivered", 1]);
    }, 30_000);
});
