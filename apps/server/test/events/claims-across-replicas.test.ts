// Two replicas on one PostgreSQL, as two storages (two pools), each claiming with two owners as
// fast as it can while writes through both enqueue events and the claimed deliveries are settled;
// once with no instance reaching the cap on pending deliveries, once with writes dropping the
// oldest past a cap of 3 all along.
// Each claim is checked where it happens: in the database, by a trigger on the row it leases (the
// row must have been pending and not leased, and no older delivery of its instance pending, as
// read after the claim's own snapshot: a stale read can only miss a violation, never make one up),
// and here, in the order the claims returned (never a delivery twice, never an older one after a
// newer one of its instance). Order is taken when a claim returns, not when its attempts are
// recorded: a round that waits for one slow attempt comes back after a later claim of another
// owner, and so does everything it claimed.
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../../src/accounts/store.js";
import type { InstanceBody } from "../../src/api-types.js";
import { overflowReason } from "../../src/events/outbox.js";
import type { FollowUps } from "../../src/instances/store.js";
import { openStorage, type Storage } from "../../src/storage.js";
import { delivered } from "./outbox-fixtures.js";

const url = "https://receiver.invalid/events"; // nothing is sent
const instances = 8;
const writesEach = 30;

const event =
  (type: "instance.created" | "instance.updated"): FollowUps =>
  (record) => ({
    event: {
      type,
      notification: { data: { id: record.id, name: record.name } as unknown as InstanceBody, callbackUrl: url },
      ...(type === "instance.created" ? { newSigningSecret: "v1.sealed-secret" } : {}),
    },
  });

// Runs in the claim's transaction, once per row it leases.
const claimCheck = `
  CREATE TABLE claim_violations (claimed BIGINT NOT NULL, what TEXT NOT NULL);
  CREATE FUNCTION check_claim() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF OLD.status <> 'pending' THEN INSERT INTO claim_violations VALUES (NEW.id, 'was ' || OLD.status);
    ELSIF OLD.lease_owner IS NOT NULL THEN INSERT INTO claim_violations VALUES (NEW.id, 'was leased by ' || OLD.lease_owner);
    END IF;
    INSERT INTO claim_violations SELECT NEW.id, 'older ' || id || ' pending' FROM event_deliveries
      WHERE instance_id = NEW.instance_id AND id < NEW.id AND status = 'pending';
    RETURN NULL;
  END $$;
  CREATE TRIGGER claimed AFTER UPDATE ON event_deliveries FOR EACH ROW
    WHEN (NEW.lease_owner IS NOT NULL AND NEW.lease_until IS DISTINCT FROM OLD.lease_until) EXECUTE FUNCTION check_claim();`;

describe.each([
  ["no instance at the cap", 1_000],
  ["a cap of 3 dropping the oldest", 3],
])("deliveries claimed by two PostgreSQL replicas while both enqueue more, %s", (_name, cap) => {
  let cluster: PostgresCluster;
  let replicas: Storage[] = [];
  let caller: Caller;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
    const store = { kind: "postgres", url: cluster.url } as const;
    replicas = [await openStorage(store, { maxPendingPerInstance: cap }), await openStorage(store, { maxPendingPerInstance: cap })];
    caller = await replicas[0]!.accounts.createAccount({
      organizationName: "o",
      organizationSecretHash: randomBytes(32),
      userSecretHash: randomBytes(32),
    });
    await cluster.sql(claimCheck);
  }, 60_000);
  afterAll(async () => {
    for (const storage of replicas) await storage.close();
    cluster?.stop();
  });

  const create = async (replica: Storage): Promise<number> => {
    const outcome = await replica.instances.create(
      {
        organizationId: caller.organizationId,
        connectorKey: "taxify",
        name: "n0",
        tags: [],
        configuration: {},
        sealedSecrets: "v1.sealed",
        secretKeys: [],
        tokenHash: randomBytes(32),
        createdAt: new Date().toISOString(),
      },
      undefined,
      event("instance.created"),
    );
    if (!("created" in outcome)) throw new Error("expected a create");
    return outcome.created.record.id;
  };

  it("claims each delivery once, and only once the one before it of its instance is settled or dropped", async () => {
    const ids = await Promise.all(Array.from({ length: instances }, (_, i) => create(replicas[i % 2]!)));
    const seen: string[] = [];
    const newestClaimed = new Map<number, number>();
    const claimed = new Set<number>();
    /** One round of an owner: claim, note each in the order claimed, then settle them all; how many it claimed. */
    const round = async (replica: Storage, owner: string): Promise<number> => {
      const now = Date.now();
      const taken = (await replica.events.claimDue(owner, now, now + 60_000, 100)).filter((d) => ids.includes(d.instanceId));
      for (const { id, instanceId } of taken) {
        if (claimed.has(id)) seen.push(`${owner} claimed ${id} again`);
        if ((newestClaimed.get(instanceId) ?? 0) > id) seen.push(`${owner} claimed ${id} after ${newestClaimed.get(instanceId)}`);
        claimed.add(id);
        newestClaimed.set(instanceId, id);
      }
      await Promise.all(taken.map((d) => replica.events.recordAttempt(d.id, owner, delivered(now))));
      return taken.length;
    };

    let writing = true;
    const writes = Promise.all(
      ids.map(async (id, i) => {
        for (let n = 1; n <= writesEach; n++)
          await replicas[(i + n) % 2]!.instances.update(caller.organizationId, id, undefined, { name: `n${n}` }, event("instance.updated"));
      }),
    ).finally(() => (writing = false));
    const owners = ["a1", "a2", "b1", "b2"].map(async (owner, i) => {
      while (writing) {
        await round(replicas[i % 2]!, owner);
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await Promise.all([writes, ...owners]);
    while ((await round(replicas[0]!, "drain")) > 0);

    expect(seen).toEqual([]);
    expect(await cluster.sql("SELECT claimed, what FROM claim_violations ORDER BY claimed")).toBe("");
    for (const id of ids) {
      const listed = await replicas[0]!.events.listForInstance(caller.organizationId, id, 100);
      expect(listed).toHaveLength(writesEach + 1);
      // Each delivered once claimed, or dropped for the cap without ever being claimed; the newest (as many as the cap) delivered.
      const amiss = listed.filter((d) =>
        claimed.has(d.id) ? d.status !== "delivered" : d.status !== "dropped" || d.lastError !== overflowReason(cap),
      );
      expect(amiss.map((d) => [d.id, d.status])).toEqual([]);
      const newest = listed.slice(0, cap);
      expect(newest.filter((d) => d.status !== "delivered")).toEqual([]);
    }
  }, 60_000);
});
