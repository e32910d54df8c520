// Events with two replicas on one PostgreSQL: each event is sent once per attempt the listing
// records, whichever replica wrote it, in order per instance; and a replica killed mid-attempt
// leaves a lease that runs out, after which the other replica delivers the event (same webhook-id).
// Once per recorded attempt rather than once: an attempt may fail after the receiver has the
// request (on a loaded machine a replica's event loop can be held past the 1.5 s delivery timeout
// with the answer unread) and is made again, as at-least-once delivery means; and an attempt whose
// replica could not record it (the database away) is made again once its lease has run out. What
// must never happen is one delivery sent by two replicas while a lease holds: the one whose lease
// was taken over cannot record its attempt, and its request comes within the lease of the other's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { eventEnv, startEventReceiver, type EventReceiver } from "@instances-api/server/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer, type SpawnedServer } from "./spawned-server.js";

let cluster: PostgresCluster;
let receiver: EventReceiver;
let a: SpawnedServer;
let b: SpawnedServer;
let authorization: string;
const dirs: string[] = [];

beforeAll(async () => {
  [cluster, receiver] = await Promise.all([startPostgresCluster(), startEventReceiver()]);
  const env = { DATABASE_URL: cluster.url, ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64"), ...eventEnv(receiver) };
  const dir = () => {
    const d = mkdtempSync(path.join(tmpdir(), "events-replica-"));
    dirs.push(d);
    return d;
  };
  [a, b] = await Promise.all([spawnServer({ ...env, DATA_DIR: dir() }), spawnServer({ ...env, DATA_DIR: dir() })]);
  authorization = [a.authorization, b.authorization].find(Boolean)!;
}, 60_000);

afterAll(async () => {
  for (const server of [a, b]) server?.child.kill("SIGKILL");
  await Promise.all([a?.exited, b?.exited]);
  await receiver?.close();
  cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const call = (server: SpawnedServer, apiPath: string, method: string, json?: unknown) =>
  fetch(`${server.apiUrl}${apiPath}`, {
    method,
    headers: { Authorization: authorization, "Content-Type": "application/json" },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });

interface Listed {
  webhookId: string;
  eventType: string;
  status: string;
  attempts: number;
}

/**
 * The instance's deliveries as listed once none is pending any more, newest first. Read after the
 * test has waited for the receiver, on a connection idle that long: a read that meets the server
 * closing it (its keep-alive timeout, 5 s) as it is sent fails with ECONNRESET, and is made again.
 */
async function settled(server: SpawnedServer, id: number): Promise<Listed[]> {
  for (const deadline = Date.now() + 30_000; ;) {
    const listed = (await call(server, `/instances/${id}/deliveries`, "GET").then(
      (response) => response.json(),
      (error: unknown) => {
        if (Date.now() > deadline) throw error;
        return undefined;
      },
    )) as Listed[] | undefined;
    if (listed?.every((d) => d.status !== "pending")) return listed;
    if (Date.now() > deadline) throw new Error(`deliveries of instance ${id} still pending: ${JSON.stringify(listed)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A lease outlives the delivery timeout by this much (dispatcher.ts): an attempt made again because
// the one before was never recorded comes at least this long after it.
const leaseMarginMs = 5_000;

const taxify = (name: string, path: string) => ({
  your_mom: { key: "taxify" },
  configuration: { "api.key": "k", "event.notification.enabled": "true", "event.notification.callback.url": receiver.url(path) },
  name,
});

describe("events with two replicas on one PostgreSQL", () => {
  it("are each sent once per recorded attempt, never by both replicas, in order per instance, whichever replica wrote them", async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const writer = i % 2 ? a : b;
        const created = await call(writer, "/instances", "POST", taxify(`replica ${i}`, "/once"));
        expect(created.status).toBe(200);
        const { id } = (await created.json()) as { id: number };
        // The update through the other replica.
        expect((await call(i % 2 ? b : a, `/instances/${id}`, "PATCH", { name: `replica ${i} renamed` })).status).toBe(200);
        return id;
      }),
    );
    const onPath = () => receiver.received.filter((r) => r.path === "/once");
    await receiver.until(() => new Set(onPath().map((r) => r.webhookId)).size >= 40);
    // Give a duplicate time to show up, if any would.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const received = onPath();
    expect(new Set(received.map((r) => r.webhookId)).size).toBe(40);
    for (const id of ids) {
      const listed = await settled(a, id);
      expect(listed.map((d) => [d.eventType, d.status])).toEqual([
        ["instance.updated", "delivered"],
        ["instance.created", "delivered"],
      ]);
      for (const delivery of listed) {
        const requests = received.filter((r) => r.webhookId === delivery.webhookId);
        const afterALease = requests.filter((r, i) => i > 0 && r.at - requests[i - 1]!.at >= leaseMarginMs).length;
        expect(requests.length, delivery.webhookId).toBeGreaterThanOrEqual(1);
        expect(requests.length - delivery.attempts, delivery.webhookId).toBeLessThanOrEqual(afterALease);
      }
      // The update's first request only after the create's last.
      const types = received.filter((r) => r.instanceId === id).map((r) => r.type);
      expect(types.filter((type, i) => type !== types[i - 1])).toEqual(["instance.created", "instance.updated"]);
    }
  });

  it("left leased by a replica killed mid-attempt are delivered by the other once the lease runs out", async () => {
    receiver.answer((path) => (path === "/killed" ? "hang" : 204));
    const created = await call(a, "/instances", "POST", taxify("killed mid-attempt", "/killed"));
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: number };
    await receiver.until((all) => all.some((r) => r.path === "/killed"));
    const [attempt] = receiver.received.filter((r) => r.path === "/killed");
    // The replica that holds the lease (it logged its owner id when it started) dies mid-attempt.
    const owner = (await cluster.sql(`SELECT lease_owner FROM event_deliveries WHERE webhook_id = '${attempt!.webhookId}'`)).trim();
    const [holder, survivor] = a.output().includes(owner) ? [a, b] : [b, a];
    expect(holder.output()).toContain(owner);
    receiver.answer(() => 204);
    holder.child.kill("SIGKILL");
    await holder.exited;
    await receiver.until((all) => all.filter((r) => r.path === "/killed").length >= 2, 60_000);
    const [listed] = await settled(survivor, id);
    // The killed replica's attempt, which it never recorded, then the survivor's, each recorded.
    expect(listed).toMatchObject({ status: "delivered" });
    const attempts = receiver.received.filter((r) => r.path === "/killed");
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThanOrEqual(1 + listed!.attempts);
    expect(attempts[1]!.webhookId).toBe(attempt!.webhookId);
    expect(attempts[1]!.instanceId).toBe(id);
    // Not before the lease ran out (the delivery timeout, 1.5 s, and 5 s more): the lease held.
    expect(attempts[1]!.at - attempt!.at).toBeGreaterThanOrEqual(6_000);
  });
});
