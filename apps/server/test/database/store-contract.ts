// The store contract: one suite that every storage (SQLite, PostgreSQL) must pass unchanged.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../../src/accounts/store.js";
import type { Storage } from "../../src/storage.js";
import { candidatesPerPage, type ListQuery, type NewInstance } from "../../src/instances/store.js";

function hashes(name: string) {
  return { organizationName: name, organizationSecretHash: randomBytes(32), userSecretHash: randomBytes(32) };
}

/** An instance to create in the organization (what a create request comes to in the store). */
export function newInstance(organizationId: number, overrides: Partial<NewInstance> = {}): NewInstance {
  return {
    organizationId,
    connectorKey: "taxify",
    name: "n",
    tags: [],
    configuration: { "event.notification.enabled": "false" },
    sealedSecrets: "v1.sealed",
    secretKeys: ["api.key"],
    tokenHash: randomBytes(32),
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

function instance(caller: Caller, overrides: Partial<NewInstance> = {}): NewInstance {
  return newInstance(caller.organizationId, overrides);
}

/** The first page of the organization's instances, filtered as asked. */
export function listQuery(organizationId: number, query: Partial<ListQuery> = {}): ListQuery {
  return { organizationId, tags: [], connectorKey: undefined, afterId: 0, limit: 21, maxExamined: candidatesPerPage, ...query };
}

/** A store under test, and a look at its rows that the store's interface does not give. */
export interface OpenedStore {
  storage: Storage;
  close: () => Promise<void>;
  /** The instance's rows in instance_tags, ordered by tag. */
  tagRowsOf: (instanceId: number) => Promise<{ organizationId: number; tag: string }[]>;
}

export function storeContract(name: string, open: () => Promise<OpenedStore>) {
  describe(`the ${name} store`, () => {
    let storage: Storage;
    let close: () => Promise<void>;
    let tagRowsOf: OpenedStore["tagRowsOf"];
    let alice: Caller;
    let bob: Caller;

    beforeAll(async () => {
      ({ storage, close, tagRowsOf } = await open());
      alice = await storage.accounts.createAccount(hashes("alice"));
      bob = await storage.accounts.createAccount(hashes("bob"));
    });
    afterAll(() => close());

    const created = async (caller: Caller, overrides: Partial<NewInstance> = {}) => {
      const outcome = await storage.instances.create(instance(caller, overrides));
      if (!("created" in outcome)) throw new Error("expected a create");
      return outcome.created.record;
    };

    it("finds a caller by both secret hashes, and only by both", async () => {
      const input = hashes("carol");
      const carol = await storage.accounts.createAccount(input);
      expect(await storage.accounts.findCaller(input.userSecretHash, input.organizationSecretHash)).toMatchObject(carol);
      expect(await storage.accounts.findCaller(input.userSecretHash, randomBytes(32))).toBeUndefined();
    });

    it("creates a first account only on an empty database", async () => {
      expect(await storage.accounts.createFirstAccount(hashes("late"))).toBeUndefined();
    });

    it("round-trips an instance", async () => {
      const record = await created(alice, { name: "round trip", tags: ["a", "b"], configuration: { username: "u" } });
      expect(record).toMatchObject({
        organizationId: alice.organizationId,
        name: "round trip",
        tags: ["a", "b"],
        configuration: { username: "u" },
        secretKeys: ["api.key"],
        version: 1,
        disabled: false,
      });
      expect(await storage.instances.get(alice.organizationId, record.id)).toEqual(record);
      expect(await storage.instances.get(bob.organizationId, record.id)).toBeUndefined();
    });

    it("finds an instance by its token's hash, only in its organization, and only while the hash is current", async () => {
      const tokenHash = randomBytes(32);
      const record = await created(alice, { tokenHash });
      expect(await storage.instances.findByTokenHash(alice.organizationId, tokenHash)).toEqual({ id: record.id, tokenHash });
      expect(await storage.instances.findByTokenHash(bob.organizationId, tokenHash)).toBeUndefined();
      expect(await storage.instances.findByTokenHash(alice.organizationId, randomBytes(32))).toBeUndefined();
      const rotatedHash = randomBytes(32);
      await storage.instances.update(alice.organizationId, record.id, undefined, { tokenHash: rotatedHash });
      expect(await storage.instances.findByTokenHash(alice.organizationId, tokenHash)).toBeUndefined();
      expect(await storage.instances.findByTokenHash(alice.organizationId, rotatedHash)).toEqual({ id: record.id, tokenHash: rotatedHash });
    });

    it("keeps an instance's provisioning state and refresh time, and changes them", async () => {
      const record = await created(alice, { provisioning: '{"valid":true}', refreshDueAt: 1_700_000_000_000 });
      expect(record).toMatchObject({ provisioning: '{"valid":true}', refreshDueAt: 1_700_000_000_000 });
      const updated = await storage.instances.update(alice.organizationId, record.id, record.version, {
        provisioning: '{"valid":false}',
        refreshDueAt: null,
      });
      expect(updated).toMatchObject({ record: { provisioning: '{"valid":false}', refreshDueAt: null }, enqueued: false });
      expect(await created(alice)).toMatchObject({ provisioning: undefined, refreshDueAt: null });
    });

    it("claims a due refresh for one owner until its lease ends, and gives it back", async () => {
      const now = 2_000_000_000_000;
      const due = await created(bob, { provisioning: "{}", refreshDueAt: now - 1 });
      await created(bob, { provisioning: "{}", refreshDueAt: now + 60_000 }); // not yet due
      const claims = (await storage.refreshes.claimDue("one", now, 1_000, 10)).filter((c) => c.organizationId === bob.organizationId);
      expect(claims).toEqual([{ organizationId: bob.organizationId, id: due.id }]);
      expect(await storage.refreshes.claimDue("two", now + 999, 1_000, 10)).toEqual([]);
      await storage.refreshes.release("two", due.id); // not its claim: nothing changes
      expect(await storage.refreshes.claimDue("two", now + 999, 1_000, 10)).toEqual([]);
      expect(await storage.refreshes.claimDue("two", now + 1_001, 1_000, 10)).toEqual([{ organizationId: bob.organizationId, id: due.id }]);
      expect(await storage.refreshes.releaseAll("two")).toBe(1);
      expect(await storage.refreshes.claimDue("one", now + 1_002, 1_000, 10)).toEqual([{ organizationId: bob.organizationId, id: due.id }]);
      await storage.refreshes.release("one", due.id);
      await storage.instances.update(bob.organizationId, due.id, undefined, { refreshDueAt: null });
    });

    it("shares due refreshes round-robin across organizations, at most a share of one, skipping those asked", async () => {
      const now = 1_500_000_000_000; // before every other test's due times
      const greedy = await storage.accounts.createAccount(hashes("greedy"));
      const modest = await storage.accounts.createAccount(hashes("modest"));
      // The greedy organization's ten refreshes are all due before the modest one's.
      const greedyIds: number[] = [];
      for (let i = 0; i < 10; i++) greedyIds.push((await created(greedy, { provisioning: "{}", refreshDueAt: now - 100 + i })).id);
      const modestId = (await created(modest, { provisioning: "{}", refreshDueAt: now - 1 })).id;
      const fair = { perOrganization: 2, skip: [] };
      const first = await storage.refreshes.claimDue("fair", now, 1_000, 3, fair);
      expect(first.map((c) => c.id).sort()).toEqual([greedyIds[0], greedyIds[1], modestId].sort());
      // Skipped: the greedy organization gets nothing more, however early its rows.
      expect(await storage.refreshes.claimDue("fair", now, 1_000, 5, { perOrganization: 2, skip: [greedy.organizationId] })).toEqual([]);
      expect((await storage.refreshes.claimDue("fair", now, 1_000, 5, fair)).map((c) => c.id)).toEqual([greedyIds[2], greedyIds[3]]);
      await storage.refreshes.releaseAll("fair");
      for (const id of [...greedyIds, modestId]) {
        const organizationId = id === modestId ? modest.organizationId : greedy.organizationId;
        await storage.instances.update(organizationId, id, undefined, { refreshDueAt: null });
      }
    });

    it("claims of each organization its share less what the claimer has of it under way", async () => {
      const now = 1_400_000_000_000; // before every other test's due times
      const busy = await storage.accounts.createAccount(hashes("busy"));
      const idle = await storage.accounts.createAccount(hashes("idle"));
      const busyIds: number[] = [];
      const idleIds: number[] = [];
      for (let i = 0; i < 4; i++) {
        busyIds.push((await created(busy, { provisioning: "{}", refreshDueAt: now - 100 + i })).id);
        idleIds.push((await created(idle, { provisioning: "{}", refreshDueAt: now - 50 + i })).id);
      }
      const claims = await storage.refreshes.claimDue("share", now, 1_000, 10, {
        perOrganization: 3,
        skip: [],
        underWay: [[busy.organizationId, 2]],
      });
      expect(claims.map((c) => c.id)).toEqual([busyIds[0], idleIds[0], idleIds[1], idleIds[2]]);
      await storage.refreshes.releaseAll("share");
      for (const [caller, ids] of [
        [busy, busyIds],
        [idle, idleIds],
      ] as const)
        for (const id of ids) await storage.instances.update(caller.organizationId, id, undefined, { refreshDueAt: null });
    });

    it("gives a refresh claim back with the write that names its owner, and only that owner's", async () => {
      const now = 1_300_000_000_000; // before every other test's due times
      const due = await created(bob, { provisioning: "{}", refreshDueAt: now - 1 });
      expect(await storage.refreshes.claimDue("refresher", now, 60_000, 10)).toEqual([{ organizationId: bob.organizationId, id: due.id }]);
      // Another owner's write leaves the claim: the row is still held.
      await storage.instances.update(bob.organizationId, due.id, undefined, { name: "renamed", releasesRefreshClaimOf: "someone else" });
      expect(await storage.refreshes.claimOne("verify", bob.organizationId, due.id, now, 1_000)).toEqual({
        claimed: false,
        heldUntil: now + 60_000,
      });
      const written = await storage.instances.update(bob.organizationId, due.id, undefined, {
        refreshDueAt: now + 3_600_000,
        releasesRefreshClaimOf: "refresher",
      });
      expect(written).toMatchObject({ record: { refreshDueAt: now + 3_600_000 } });
      expect(await storage.refreshes.releaseAll("refresher")).toBe(0);
      expect(await storage.refreshes.claimOne("verify", bob.organizationId, due.id, now, 1_000)).toEqual({ claimed: true });
      await storage.refreshes.holdUntil("verify", due.id, null);
      await storage.instances.update(bob.organizationId, due.id, undefined, { refreshDueAt: null });
    });

    it("lists oldest first, filtered by every tag and by connector, from a cursor", async () => {
      const org = await storage.accounts.createAccount(hashes("lister"));
      const a = await created(org, { tags: ["red", "blue"] });
      const b = await created(org, { tags: ["red"], connectorKey: "infobip" });
      const c = await created(org, { tags: ["blue", "red", "green"] });
      const ids = async (query: Partial<Parameters<Storage["instances"]["list"]>[0]>) =>
        (
          await storage.instances.list({
            organizationId: org.organizationId,
            tags: [],
            connectorKey: undefined,
            afterId: 0,
            limit: 10,
            maxExamined: candidatesPerPage,
            ...query,
          })
        ).records.map((r) => r.id);
      expect(await ids({})).toEqual([a.id, b.id, c.id]);
      expect(await ids({ tags: ["red", "blue"] })).toEqual([a.id, c.id]);
      expect(await ids({ connectorKey: "infobip" })).toEqual([b.id]);
      expect(await ids({ afterId: a.id, limit: 1 })).toEqual([b.id]);
      expect(await ids({ tags: ["nope"] })).toEqual([]);
    });

    it("lists by tags page after page from the cursor, every tag given, only the organization's", async () => {
      const org = await storage.accounts.createAccount(hashes("tag pager"));
      const other = await storage.accounts.createAccount(hashes("tag pager's neighbour"));
      // [tags, connector]: interleaved with the neighbour's instances, which carry the same tags.
      const made: { id: number; tags: string[]; connectorKey: string }[] = [];
      for (const [tags, connectorKey] of [
        [["red", "blue"], "taxify"],
        [["red"], "infobip"],
        [["blue"], "taxify"],
        [["red", "blue", "green"], "infobip"],
        [[], "taxify"],
        [["red", "blue"], "taxify"],
        [["blue", "red"], "infobip"],
      ] as const) {
        made.push(await created(org, { tags: [...tags], connectorKey }));
        await created(other, { tags: [...tags], connectorKey });
      }
      const listed = async (tags: string[], connectorKey?: string) => {
        const pages: number[][] = [];
        for (let afterId = 0; ;) {
          const { records } = await storage.instances.list(listQuery(org.organizationId, { tags, connectorKey, afterId, limit: 2 }));
          if (!records.length) return pages;
          pages.push(records.map((record) => record.id));
          afterId = records.at(-1)!.id;
        }
      };
      const expected = (tags: string[], connectorKey?: string) =>
        made
          .filter(
            (record) => tags.every((tag) => record.tags.includes(tag)) && (connectorKey ?? record.connectorKey) === record.connectorKey,
          )
          .map((record) => record.id);
      const cases: [string[], string | undefined][] = [
        [["red"], undefined],
        [["blue", "red"], undefined],
        [["red", "red", "blue"], undefined],
        [["green", "red", "blue"], undefined],
        [["red"], "infobip"],
        [["red", "blue"], "taxify"],
        [["purple"], undefined],
        [["red", "purple"], undefined],
      ];
      for (const [tags, connectorKey] of cases) {
        const pages = await listed(tags, connectorKey);
        expect(pages.flat(), JSON.stringify({ tags, connectorKey })).toEqual(expected(tags, connectorKey));
        expect(pages.every((page, index) => page.length === 2 || index === pages.length - 1)).toBe(true);
      }
    });

    it("examines at most maxExamined candidates a page, and resumes after the last: pages of fewer, even none, never skip nor repeat", async () => {
      const org = await storage.accounts.createAccount(hashes("bounded pager"));
      const other = await storage.accounts.createAccount(hashes("bounded pager's neighbour"));
      // "x" and "y" never meet on one instance; "z" is on every third; one in four is Infobip's.
      const made: { id: number; tags: string[]; connectorKey: string }[] = [];
      for (let i = 0; i < 14; i++) {
        const tags = [i % 2 ? "y" : "x", ...(i % 3 ? [] : ["z"])];
        const connectorKey = i % 4 ? "taxify" : "infobip";
        made.push(await created(org, { tags, connectorKey }));
        await created(other, { tags, connectorKey });
      }
      // Page after page as GET /instances asks them (listInstances): one more than the page's size,
      // and where the page ends, or else where the walk stopped.
      const pages = async (tags: string[], connectorKey: string | undefined, pageSize: number, maxExamined: number) => {
        const listed: number[][] = [];
        for (let afterId: number | undefined = 0; afterId !== undefined;) {
          const { records, resumeAfter } = await storage.instances.list(
            listQuery(org.organizationId, { tags, connectorKey, afterId, limit: pageSize + 1, maxExamined }),
          );
          const page = records.slice(0, pageSize).map((record) => record.id);
          const next: number | undefined = records.length > pageSize ? page.at(-1) : resumeAfter;
          if (next !== undefined) expect(next, "a cursor moves on").toBeGreaterThan(afterId);
          listed.push(page);
          afterId = next;
          if (listed.length > 100) throw new Error("the pages never end");
        }
        return listed;
      };
      const expected = (tags: string[], connectorKey?: string) =>
        made
          .filter(
            (record) => tags.every((tag) => record.tags.includes(tag)) && (connectorKey ?? record.connectorKey) === record.connectorKey,
          )
          .map((record) => record.id);
      const cases: [string[], string | undefined][] = [
        [["x", "y"], undefined],
        [["x", "z"], undefined],
        [["z", "y"], undefined],
        [["x", "y", "z"], undefined],
        [["x"], "infobip"],
        [["z"], "infobip"],
        [["y"], "infobip"],
        [["x", "z"], "taxify"],
        [["x"], "freshservice"],
      ];
      for (const [tags, connectorKey] of cases)
        for (const pageSize of [1, 2, 5])
          for (const maxExamined of [1, 2, 3, 5]) {
            const listed = await pages(tags, connectorKey, pageSize, maxExamined);
            expect(listed.flat(), JSON.stringify({ tags, connectorKey, pageSize, maxExamined })).toEqual(expected(tags, connectorKey));
          }

      // Two tags that never meet: the first page examined the first three of the walked tag's
      // instances (of either tag: they tie), found none, and says to resume after the third.
      const firstPage = await storage.instances.list(listQuery(org.organizationId, { tags: ["x", "y"], limit: 3, maxExamined: 3 }));
      expect(firstPage.records).toEqual([]);
      expect([made[4]!.id, made[5]!.id]).toContain(firstPage.resumeAfter);
      // Past the walked tag's last instance there is nothing more to resume after.
      expect(
        await storage.instances.list(listQuery(org.organizationId, { tags: ["x", "y"], afterId: made[11]!.id, limit: 3, maxExamined: 3 })),
      ).toEqual({ records: [], resumeAfter: undefined });
      // A page filled before the bound gives no resume point: it resumes after its last instance.
      const filled = await storage.instances.list(
        listQuery(org.organizationId, { tags: ["x"], connectorKey: "taxify", limit: 2, maxExamined: 5 }),
      );
      expect(filled).toMatchObject({ records: [{ id: made[2]!.id }, { id: made[6]!.id }], resumeAfter: undefined });
    });

    it("keeps an instance's tag rows as its tags: set on create, changed by an update, none after a delete", async () => {
      const org = await storage.accounts.createAccount(hashes("tag rows"));
      const tagsOf = async (id: number) => (await tagRowsOf(id)).map((row) => row.tag);
      const listed = async (...tags: string[]) =>
        (await storage.instances.list(listQuery(org.organizationId, { tags }))).records.map((record) => record.id);

      const record = await created(org, { tags: ["old", "kept"] });
      expect(await tagRowsOf(record.id)).toEqual([
        { organizationId: org.organizationId, tag: "kept" },
        { organizationId: org.organizationId, tag: "old" },
      ]);

      // What a PATCH and a PUT both come to: the tags replaced as a whole.
      await storage.instances.update(org.organizationId, record.id, undefined, { tags: ["kept", "new"] });
      expect(await tagsOf(record.id)).toEqual(["kept", "new"]);
      expect(await listed("old")).toEqual([]);
      expect(await listed("old", "kept")).toEqual([]);
      expect(await listed("kept", "new")).toEqual([record.id]);

      // A change that leaves the tags alone leaves their rows alone.
      await storage.instances.update(org.organizationId, record.id, undefined, { name: "renamed" });
      expect(await tagsOf(record.id)).toEqual(["kept", "new"]);

      await storage.instances.update(org.organizationId, record.id, undefined, { tags: [] });
      expect(await tagsOf(record.id)).toEqual([]);
      expect(await listed("kept")).toEqual([]);

      // A write refused (the wrong version) or undone (its follow-ups fail, after the rows are
      // written) leaves the rows as they were: they are written in the write's transaction.
      await storage.instances.update(org.organizationId, record.id, undefined, { tags: ["last"] });
      expect(await storage.instances.update(org.organizationId, record.id, 1, { tags: ["stale"] })).toBe("version-mismatch");
      expect(await storage.instances.delete(org.organizationId, record.id, 1)).toBe("version-mismatch");
      const failing = () => {
        throw new Error("the follow-ups fail");
      };
      await expect(storage.instances.update(org.organizationId, record.id, undefined, { tags: ["undone"] }, failing)).rejects.toThrow(
        "the follow-ups fail",
      );
      await expect(storage.instances.delete(org.organizationId, record.id, undefined, failing)).rejects.toThrow("the follow-ups fail");
      expect(await tagsOf(record.id)).toEqual(["last"]);
      expect(await listed("last")).toEqual([record.id]);

      expect(await storage.instances.delete(org.organizationId, record.id, undefined)).toEqual({ enqueued: false });
      expect(await tagRowsOf(record.id)).toEqual([]);
      expect(await listed("last")).toEqual([]);
    });

    it("updates only at the expected version", async () => {
      const record = await created(alice);
      const updated = await storage.instances.update(alice.organizationId, record.id, 1, { name: "v2", disabled: true, secretKeys: [] });
      expect(updated).toMatchObject({ record: { name: "v2", disabled: true, version: 2, secretKeys: [] }, enqueued: false });
      expect(await storage.instances.update(alice.organizationId, record.id, 1, { name: "stale" })).toBe("version-mismatch");
      expect(await storage.instances.update(bob.organizationId, record.id, undefined, { name: "theirs" })).toBe("not-found");
      expect(await storage.instances.update(alice.organizationId, record.id, undefined, { tags: ["t"] })).toMatchObject({
        record: { version: 3, tags: ["t"], name: "v2" },
      });
    });

    it("deletes only at the expected version, and only the caller's", async () => {
      const record = await created(alice);
      expect(await storage.instances.delete(bob.organizationId, record.id, undefined)).toBe("not-found");
      expect(await storage.instances.delete(alice.organizationId, record.id, 7)).toBe("version-mismatch");
      expect(await storage.instances.delete(alice.organizationId, record.id, 1)).toEqual({ enqueued: false });
      expect(await storage.instances.get(alice.organizationId, record.id)).toBeUndefined();
    });

    it("replays what it kept for an idempotency key, per organization", async () => {
      const idempotency = { key: "k-1", requestHash: "h-1", expiredBefore: "1970-01-01T00:00:00.000Z" };
      const answer = (r: { id: number }) => ({ sealedResponse: `response of ${r.id}` });
      const first = await storage.instances.create(instance(alice), idempotency, answer);
      if (!("created" in first)) throw new Error("expected a create");
      const again = await storage.instances.create(instance(alice), { ...idempotency, requestHash: "h-2" }, answer);
      expect(again).toEqual({ replay: { requestHash: "h-1", sealedResponse: `response of ${first.created.record.id}` } });
      const elsewhere = await storage.instances.create(instance(bob), idempotency, answer);
      expect("created" in elsewhere).toBe(true);
    });

    it("answers concurrent creates under one key with one instance", async () => {
      const idempotency = { key: "k-race", requestHash: "h", expiredBefore: "1970-01-01T00:00:00.000Z" };
      const answer = (r: { id: number }) => ({ sealedResponse: String(r.id) });
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () => storage.instances.create(instance(alice, { name: "race" }), idempotency, answer)),
      );
      const createdIds = outcomes.flatMap((o) => ("created" in o ? [o.created.record.id] : []));
      expect(createdIds).toHaveLength(1);
      for (const o of outcomes) if ("replay" in o) expect(o.replay.sealedResponse).toBe(String(createdIds[0]));
    });

    it("forgets a key kept from before its expiry, and claims it anew", async () => {
      const kept = { key: "k-old", requestHash: "h-old", expiredBefore: "1970-01-01T00:00:00.000Z" };
      const firstAnswer = (r: { id: number }) => ({ sealedResponse: `first ${r.id}` });
      const first = await storage.instances.create(instance(alice, { createdAt: "2026-01-01T00:00:00.000Z" }), kept, firstAnswer);
      if (!("created" in first)) throw new Error("expected a create");
      // Still fresh for a reader whose expiry lies before the key's time: a replay.
      expect(await storage.instances.create(instance(alice), { ...kept, expiredBefore: "2025-12-31T00:00:00.000Z" }, firstAnswer)).toEqual({
        replay: { requestHash: "h-old", sealedResponse: `first ${first.created.record.id}` },
      });
      // Expired: another body under the same key creates, and its answer is what is kept now.
      const renewed = { ...kept, requestHash: "h-new", expiredBefore: "2026-01-02T00:00:00.000Z" };
      const secondAnswer = (r: { id: number }) => ({ sealedResponse: `second ${r.id}` });
      const second = await storage.instances.create(instance(alice), renewed, secondAnswer);
      if (!("created" in second)) throw new Error("expected a create after expiry");
      expect(second.created.record.id).not.toBe(first.created.record.id);
      expect(await storage.instances.create(instance(alice), renewed, secondAnswer)).toEqual({
        replay: { requestHash: "h-new", sealedResponse: `second ${second.created.record.id}` },
      });
    });

    it("prunes the keys kept from before a time, and only those", async () => {
      const key = (name: string, createdAt: string) =>
        storage.instances.create(
          instance(bob, { createdAt }),
          { key: name, requestHash: "h", expiredBefore: "1970-01-01T00:00:00.000Z" },
          () => ({
            sealedResponse: "r",
          }),
        );
      await key("prune-old", "2020-01-01T00:00:00.000Z");
      await key("prune-new", "2999-01-01T00:00:00.000Z");
      expect(await storage.instances.pruneIdempotencyKeys("2021-01-01T00:00:00.000Z")).toBeGreaterThanOrEqual(1);
      const probe = { requestHash: "other", expiredBefore: "1970-01-01T00:00:00.000Z" };
      expect("created" in (await storage.instances.create(instance(bob), { key: "prune-old", ...probe }))).toBe(true);
      expect("replay" in (await storage.instances.create(instance(bob), { key: "prune-new", ...probe }))).toBe(true);
    });
  });
}
