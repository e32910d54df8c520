// The account store's contract: one suite that every storage (SQLite, PostgreSQL) must pass
// unchanged. Each run starts on an empty database of its own.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccountStore, NewAccountHashes } from "../../src/accounts/store.js";
import type { Storage } from "../../src/storage.js";

// Matchers, typed `unknown` (what expect.any returns is `any`).
const aString: unknown = expect.any(String);
const anObject: unknown = expect.any(Object);

function hashes(name: string): NewAccountHashes {
  return { organizationName: name, organizationSecretHash: randomBytes(32), userSecretHash: randomBytes(32) };
}

export function accountStoreContract(name: string, open: () => Promise<{ storage: Storage; close: () => Promise<void> }>) {
  describe(`the ${name} account store`, () => {
    let store: AccountStore;
    let close: () => Promise<void>;

    beforeAll(async () => {
      const opened = await open();
      store = opened.storage.accounts;
      close = opened.close;
    }, 120_000); // a PostgreSQL cluster's start takes tens of seconds on a loaded machine
    afterAll(() => close());

    it("lists nothing on an empty database, then every organization oldest first with its users, and no hash", async () => {
      expect(await store.listOrganizations()).toEqual([]);
      const first = await store.createAccount(hashes("First"));
      const second = await store.createAccount(hashes("Second"));
      const listed = await store.listOrganizations();
      expect(listed).toEqual([
        {
          id: first.organizationId,
          name: "First",
          createdAt: aString,
          users: [{ id: first.userId, createdAt: aString }],
        },
        {
          id: second.organizationId,
          name: "Second",
          createdAt: aString,
          users: [{ id: second.userId, createdAt: aString }],
        },
      ]);
      for (const organization of listed) {
        expect(new Date(organization.createdAt).toISOString()).toBe(organization.createdAt);
        expect(organization.users[0]!.createdAt).toBe(organization.createdAt);
      }
    });

    it("creates a uniquely named account, and names the existing organization instead of a second one", async () => {
      const created = await store.createUniquelyNamedAccount(hashes("Unique Ltd"));
      if (!("created" in created)) throw new Error("expected a create");
      const before = (await store.listOrganizations()).length;
      expect(await store.createUniquelyNamedAccount(hashes("Unique Ltd"))).toEqual({
        existingOrganizationId: created.created.organizationId,
      });
      expect((await store.listOrganizations()).length).toBe(before);
      // Names compare exactly: another spelling is another name.
      expect(await store.createUniquelyNamedAccount(hashes("unique ltd"))).toMatchObject({ created: anObject });
    });

    it("makes one organization of creates of one name sent at once", async () => {
      // Connections opened first, so that the creates really overlap (on PostgreSQL, a pool of several).
      await Promise.all(Array.from({ length: 8 }, () => store.listOrganizations()));
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => store.createUniquelyNamedAccount(hashes("Racing Inc"))));
      const created = outcomes.filter((outcome) => "created" in outcome);
      expect(created).toHaveLength(1);
      const id = (created[0] as { created: { organizationId: number } }).created.organizationId;
      expect(outcomes.filter((outcome) => "existingOrganizationId" in outcome)).toEqual(Array(7).fill({ existingOrganizationId: id }));
      expect((await store.listOrganizations()).filter((o) => o.name === "Racing Inc")).toHaveLength(1);
    });

    it("rotates an organization's secrets: the old hashes find no caller, the new ones do, others are untouched", async () => {
      const old = hashes("Rotating");
      const other = hashes("Bystander");
      const caller = await store.createAccount(old);
      const bystander = await store.createAccount(other);
      const organizationHash = randomBytes(32);
      const userHash = randomBytes(32);
      const asked: number[] = [];
      const rotated = await store.rotateSecrets(caller.organizationId, organizationHash, (userId) => {
        asked.push(userId);
        return userHash;
      });
      expect(rotated).toEqual({ organizationName: "Rotating", userIds: [caller.userId] });
      expect(asked).toEqual([caller.userId]);
      expect(await store.findCaller(old.userSecretHash, old.organizationSecretHash)).toBeUndefined();
      expect(await store.findCaller(userHash, old.organizationSecretHash)).toBeUndefined();
      expect(await store.findCaller(old.userSecretHash, organizationHash)).toBeUndefined();
      expect(await store.findCaller(userHash, organizationHash)).toMatchObject(caller);
      expect(await store.findCaller(other.userSecretHash, other.organizationSecretHash)).toMatchObject(bystander);
    });

    it("rotates nothing for an organization that does not exist", async () => {
      let asked = false;
      const rotated = await store.rotateSecrets(987_654, randomBytes(32), () => {
        asked = true;
        return randomBytes(32);
      });
      expect(rotated).toBeUndefined();
      expect(asked).toBe(false);
    });

    it("changes nothing when a rotation fails half-way (the organization's secret is rolled back)", async () => {
      const old = hashes("Half-way");
      const caller = await store.createAccount(old);
      await expect(
        store.rotateSecrets(caller.organizationId, randomBytes(32), () => {
          throw new Error("injected: no user secret");
        }),
      ).rejects.toThrow("injected: no user secret");
      expect(await store.findCaller(old.userSecretHash, old.organizationSecretHash)).toMatchObject(caller);
    });

    it("lets rotations of one organization sent at once take turns: exactly the last one's secrets work", async () => {
      const caller = await store.createAccount(hashes("Twice rotated"));
      const attempts = Array.from({ length: 4 }, () => ({ organization: randomBytes(32), user: randomBytes(32) }));
      const results = await Promise.all(attempts.map((a) => store.rotateSecrets(caller.organizationId, a.organization, () => a.user)));
      expect(results).toEqual(Array(4).fill({ organizationName: "Twice rotated", userIds: [caller.userId] }));
      const working = [];
      for (const a of attempts) if (await store.findCaller(a.user, a.organization)) working.push(a);
      expect(working).toHaveLength(1);
    });
  });
}
