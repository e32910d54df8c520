// The outbox on both stores: an event is recorded in the transaction of the write that causes it,
// so a write that does not happen (a stale version, a failure inside its transaction) records
// none; events such as the provisioning's instance.invalid ride on a plain store.update; a claim
// takes only the oldest pending event of each instance, and a leased one is not claimed again; a
// rotation re-signs the pending ones (the new secret current, the old ones retired, all sealed),
// and a delete drops them but its own; a test event changes neither its instance nor the pending
// ones, and its limit counts only test events.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InstanceBody } from "../../src/api-types.js";
import type { Caller } from "../../src/accounts/store.js";
import { deletedReason, type Delivery, type EventType } from "../../src/events/outbox.js";
import { newSigningSecret } from "../../src/events/signing-secret.js";
import { testEventLimit } from "../../src/events/test-events.js";
import { notificationTarget } from "../../src/instances/notifications.js";
import { sealingContexts } from "../../src/secrets/contexts.js";
import { createSecretBox } from "../../src/secrets/secret-box.js";
import type { FollowUps, InstanceRecord, NewInstance } from "../../src/instances/store.js";
import { openStorage, type Storage } from "../../src/storage.js";
import { notifyingInstance } from "./outbox-fixtures.js";

const secretBox = createSecretBox(randomBytes(32));
const url = "https://receiver.invalid/events"; // never sent to: nothing here delivers
const show = (record: InstanceRecord) =>
  ({ id: record.id, name: record.name, configuration: record.configuration }) as unknown as InstanceBody;
/** A write's follow-ups as an operation works them out: the event, from the record as written. */
const intent =
  (type: EventType, secret?: string): FollowUps =>
  (record) => {
    const callbackUrl = notificationTarget(record.configuration);
    return {
      event: {
        type,
        ...(callbackUrl === undefined ? {} : { notification: { data: show(record), callbackUrl } }),
        ...(secret === undefined
          ? {}
          : { newSigningSecret: secretBox.seal(secret, sealingContexts.eventSigningSecret(record.organizationId, record.id)) }),
      },
    };
  };

const stores: [string, () => Promise<{ storage: Storage; close: () => Promise<void> }>][] = [
  [
    "SQLite",
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "outbox-sqlite-"));
      const storage = await openStorage({ kind: "sqlite", file: path.join(dir, "instances.sqlite") });
      return { storage, close: async () => (await storage.close(), rmSync(dir, { recursive: true, force: true })) };
    },
  ],
  [
    "PostgreSQL",
    async () => {
      const cluster = await startPostgresCluster();
      const storage = await openStorage({ kind: "postgres", url: cluster.url });
      return { storage, close: async () => (await storage.close(), cluster.stop()) };
    },
  ],
];

describe.each(stores)("the event outbox on %s", (_name, open) => {
  let storage: Storage;
  let close: () => Promise<void>;
  let caller: Caller;
  beforeAll(async () => {
    ({ storage, close } = await open());
    caller = await storage.accounts.createAccount({
      organizationName: "o",
      organizationSecretHash: randomBytes(32),
      userSecretHash: randomBytes(32),
    });
  }, 60_000);
  afterAll(() => close());

  const instance = (): NewInstance => notifyingInstance(caller.organizationId, url);
  const types = async (id: number) =>
    (await storage.events.listForInstance(caller.organizationId, id, 100)).map((d) => d.eventType).reverse();

  it("records each write's event with it, the provisioning's instance.invalid on a plain update included", async () => {
    const outcome = await storage.instances.create(instance(), undefined, intent("instance.created", newSigningSecret()));
    if (!("created" in outcome)) throw new Error("expected a create");
    const { id, version } = outcome.created.record;
    expect(await storage.instances.update(caller.organizationId, id, version, { name: "m" }, intent("instance.invalid"))).not.toBe(
      "version-mismatch",
    );
    expect(await types(id)).toEqual(["instance.created", "instance.invalid"]);
  });

  it("records nothing for a write that does not happen", async () => {
    const outcome = await storage.instances.create(instance(), undefined, intent("instance.created", newSigningSecret()));
    if (!("created" in outcome)) throw new Error("expected a create");
    const { id, version } = outcome.created.record;
    expect(await storage.instances.update(caller.organizationId, id, version + 7, { name: "x" }, intent("instance.updated"))).toBe(
      "version-mismatch",
    );
    expect(await storage.instances.delete(caller.organizationId, id, version + 7, intent("instance.deleted"))).toBe("version-mismatch");
    // A failure inside the create's transaction (after the insert) takes the create and its event with it.
    const failing = storage.instances.create(instance(), { key: `k-${id}`, requestHash: "h", expiredBefore: "" }, () => {
      throw new Error("sealing failed");
    });
    await expect(failing).rejects.toThrow("sealing failed");
    const next = await storage.instances.create(instance());
    if (!("created" in next)) throw new Error("expected a create");
    for (let other = id + 1; other <= next.created.record.id; other++) expect(await types(other)).toEqual([]);
    expect(await types(id)).toEqual(["instance.created"]);
  });

  it("shares due deliveries round-robin across organizations, skipping those asked", async () => {
    const other = await storage.accounts.createAccount({
      organizationName: "other",
      organizationSecretHash: randomBytes(32),
      userSecretHash: randomBytes(32),
    });
    const make = async (organizationId: number) => {
      const outcome = await storage.instances.create(
        { ...instance(), organizationId },
        undefined,
        intent("instance.created", newSigningSecret()),
      );
      if (!("created" in outcome)) throw new Error("expected a create");
      return outcome.created.record.id;
    };
    const greedyIds = [await make(caller.organizationId), await make(caller.organizationId), await make(caller.organizationId)];
    const otherId = await make(other.organizationId);
    const mine = (claimed: Delivery[]) => claimed.filter((d) => [...greedyIds, otherId].includes(d.instanceId)).map((d) => d.instanceId);
    const now = Date.now() + 1_000;
    const fair = (skip: number[]) => ({ perOrganization: 1, skip });
    // Skipping the greedy organization: only the other's.
    expect(mine(await storage.events.claimDue("skip", now, now + 60_000, 10, fair([caller.organizationId])))).toEqual([otherId]);
    // One of an organization's per claim, however many it has due (its oldest, whichever instance).
    const round = await storage.events.claimDue("fair", now, now + 60_000, 10, fair([other.organizationId]));
    expect(round.map((d) => d.organizationId)).toEqual([caller.organizationId]);
  });

  it("claims the oldest pending event of each instance only, and nothing leased", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const outcome = await storage.instances.create(instance(), undefined, intent("instance.created", newSigningSecret()));
      if (!("created" in outcome)) throw new Error("expected a create");
      await storage.instances.update(caller.organizationId, outcome.created.record.id, undefined, {}, intent("instance.updated"));
      ids.push(outcome.created.record.id);
    }
    const now = Date.now();
    const claimed = await storage.events.claimDue("one", now, now + 60_000, 100);
    const mine = claimed.filter((d) => ids.includes(d.instanceId));
    expect(mine.map((d) => [d.instanceId, d.eventType])).toEqual(ids.map((id) => [id, "instance.created"]));
    expect((await storage.events.claimDue("two", now, now + 60_000, 100)).filter((d) => ids.includes(d.instanceId))).toEqual([]);
    // Once the first is delivered, the second is due.
    await storage.events.recordAttempt(mine[0]!.id, "one", {
      attemptAt: now,
      status: 204,
      error: undefined,
      delivered: true,
      nextAttemptAt: undefined,
    });
    const after = (await storage.events.claimDue("two", now, now + 60_000, 100)).filter((d) => ids.includes(d.instanceId));
    expect(after.map((d) => [d.instanceId, d.eventType])).toEqual([[ids[0], "instance.updated"]]);
    // A result recorded by a replica that lost the lease changes nothing.
    await storage.events.recordAttempt(after[0]!.id, "one", {
      attemptAt: now,
      status: 204,
      error: undefined,
      delivered: true,
      nextAttemptAt: undefined,
    });
    expect((await storage.events.listForInstance(caller.organizationId, ids[0]!, 1))[0]).toMatchObject({ status: "pending", attempts: 0 });
  });

  it("forgets settled deliveries older than asked, never a pending one", async () => {
    const outcome = await storage.instances.create(instance(), undefined, intent("instance.created", newSigningSecret()));
    if (!("created" in outcome)) throw new Error("expected a create");
    const { id } = outcome.created.record;
    await storage.instances.update(caller.organizationId, id, undefined, {}, intent("instance.updated"));
    const now = Date.now();
    const [head] = (await storage.events.claimDue("p", now, now + 60_000, 100)).filter((d) => d.instanceId === id);
    await storage.events.recordAttempt(head!.id, "p", {
      attemptAt: now,
      status: 204,
      error: undefined,
      delivered: true,
      nextAttemptAt: undefined,
    });
    const listed = async () => (await storage.events.listForInstance(caller.organizationId, id, 100)).length;
    await storage.events.pruneSettled(head!.createdAt); // not older than asked: kept
    expect(await listed()).toBe(2);
    expect(await storage.events.pruneSettled(Date.now() + 1)).toBeGreaterThanOrEqual(1);
    expect((await storage.events.listForInstance(caller.organizationId, id, 100)).map((d) => [d.eventType, d.status])).toEqual([
      ["instance.updated", "pending"],
    ]);
  });

  it("re-signs the pending deliveries at each rotation, and a delete drops them but its own", async () => {
    const [first, second, third] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    const outcome = await storage.instances.create(instance(), undefined, intent("instance.created", first));
    if (!("created" in outcome)) throw new Error("expected a create");
    const { id } = outcome.created.record;
    const context = sealingContexts.eventSigningSecret(caller.organizationId, id);
    // Each delivery's secrets, opened: the current one, then the retired ones, newest first.
    const opened = (d: Delivery) => [
      secretBox.open(d.sealedSecret, context),
      ...((d.retiredSecrets === null ? [] : JSON.parse(d.retiredSecrets)) as { sealed: string }[]).map((r) =>
        secretBox.open(r.sealed, context),
      ),
    ];
    const listed = async () => (await storage.events.listForInstance(caller.organizationId, id, 100)).reverse();

    await storage.instances.update(caller.organizationId, id, undefined, {}, intent("instance.updated"));
    await storage.instances.update(caller.organizationId, id, undefined, {}, intent("instance.token_rotated", second));
    expect((await listed()).map(opened)).toEqual(Array(3).fill([second, first]));
    await storage.instances.update(caller.organizationId, id, undefined, {}, intent("instance.token_rotated", third));
    await storage.instances.update(caller.organizationId, id, undefined, {}, intent("instance.updated"));
    const rotated = await listed();
    expect(rotated.map(opened)).toEqual(Array(5).fill([third, second, first]));
    // Sealed at rest: no secret, nor its key bytes, in any stored field.
    const stored = JSON.stringify(rotated);
    for (const secret of [first, second, third]) expect(stored).not.toContain(secret.slice("whsec_".length));

    expect(await storage.instances.delete(caller.organizationId, id, undefined, intent("instance.deleted"))).toMatchObject({
      enqueued: true,
    });
    const deleted = await listed();
    expect(deleted.map((d) => [d.eventType, d.status, d.lastError])).toEqual([
      ["instance.created", "dropped", deletedReason],
      ["instance.updated", "dropped", deletedReason],
      ["instance.token_rotated", "dropped", deletedReason],
      ["instance.token_rotated", "dropped", deletedReason],
      ["instance.updated", "dropped", deletedReason],
      ["instance.deleted", "pending", null],
    ]);
    expect(opened(deleted.at(-1)!)).toEqual([third, second, first]);
  });

  it("records a test event without changing its instance or the pending ones, and holds back one beyond the limit", async () => {
    const outcome = await storage.instances.create(instance(), undefined, intent("instance.created", newSigningSecret()));
    if (!("created" in outcome)) throw new Error("expected a create");
    const { id, version } = outcome.created.record;
    const twoPending = { intervalMs: 0, pendingAtMost: 2 };
    const test = () => storage.instances.recordTestEvent(caller.organizationId, id, version, intent("instance.test"), twoPending);

    const first = await test();
    if (typeof first === "string" || !("enqueued" in first) || !first.enqueued)
      throw new Error(`expected a delivery: ${JSON.stringify(first)}`);
    expect(first.enqueued).toMatchObject({ instanceId: id, eventType: "instance.test", status: "pending", attempts: 0, url });
    expect(first.enqueued.nextAttemptAt).toBe(first.enqueued.createdAt);
    expect(JSON.parse(first.enqueued.payload)).toMatchObject({ type: "instance.test", test: true, data: { id } });
    expect((await storage.instances.get(caller.organizationId, id))!.version).toBe(version);
    // The create's delivery, pending too, counts for none of the test events' bound.
    expect(await test()).toMatchObject({ enqueued: { eventType: "instance.test" } });
    expect(await test()).toEqual({ wait: { reason: "pending", waitMs: expect.any(Number) as number } });
    const listed = await storage.events.listForInstance(caller.organizationId, id, 100);
    expect(listed.map((d) => [d.eventType, d.status]).reverse()).toEqual([
      ["instance.created", "pending"],
      ["instance.test", "pending"],
      ["instance.test", "pending"],
    ]);
    // One a second: the last was recorded a moment ago.
    expect(await storage.instances.recordTestEvent(caller.organizationId, id, version, intent("instance.test"), testEventLimit)).toEqual({
      wait: { reason: "interval", waitMs: expect.any(Number) as number },
    });

    expect(await storage.instances.recordTestEvent(caller.organizationId, id, version + 1, intent("instance.test"), twoPending)).toBe(
      "version-mismatch",
    );
    expect(await storage.instances.recordTestEvent(caller.organizationId, id + 1_000, undefined, intent("instance.test"), twoPending)).toBe(
      "not-found",
    );
  });

  it("records no test event of an instance without a signing secret, and drops nothing for it", async () => {
    const outcome = await storage.instances.create(instance(), undefined, intent("instance.created"));
    if (!("created" in outcome)) throw new Error("expected a create");
    const { id } = outcome.created.record;
    expect(await storage.instances.recordTestEvent(caller.organizationId, id, undefined, intent("instance.test"), testEventLimit)).toEqual({
      enqueued: undefined,
    });
    expect(await types(id)).toEqual([]);
  });
});
