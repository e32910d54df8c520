// Deliveries across an instance's changes, against the real server on SQLite and on PostgreSQL and
// a local receiver on 127.0.0.1: a delivery pending at a token rotation is signed with the old
// and the new secret (a receiver that has moved verifies it); a 410 Gone ends a delivery at once
// and holds back none of the instance's later events; deleting an instance drops its pending
// deliveries, and its instance.deleted is attempted once.
import { bothStores, shortEventWaits } from "./event-test-settings.js";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import type { NewAccount } from "../../src/accounts/accounts.js";
import { deletedReason, type Delivery } from "../../src/events/outbox.js";
import { body, type TestServer } from "../harness.js";
import type { EventReceiver, Received } from "../../test-support/event-receiver.js";
import { serverWithReceiver } from "./server-with-receiver.js";

const events = shortEventWaits;
// Long enough for two retries after a first failure, had there been any.
const pastRetries = 4 * events.firstRetryMs + 5 * events.pollIntervalMs;

const stores = bothStores;

interface Created {
  id: number;
  eventSigningSecret: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const typeOf = (request: Received) => (JSON.parse(request.body) as { type: string }).type;
const signatures = (request: Received) => request.headers["webhook-signature"]!.split(" ");

/** Whether `secret` verifies `request` with its `webhook-signature` cut to the one entry `signature`. */
function verifiesEntry(secret: string, request: Received, signature: string): boolean {
  try {
    new Webhook(secret).verify(request.body, { ...request.headers, "webhook-signature": signature });
    return true;
  } catch {
    return false;
  }
}

describe.each(stores)("deliveries on %s", (_name, open) => {
  let receiver: EventReceiver;
  let t: TestServer;
  let account: NewAccount;
  serverWithReceiver(open, { events }, async (server, started) => {
    t = server;
    receiver = started;
    account = await t.newAccount("deliveries");
  });

  const api = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    t.api(path, { ...init, headers: { Authorization: account.authorization } });

  async function create(path: string): Promise<Created> {
    const response = await api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "taxify" },
        configuration: {
          "api.key": "Taxify-Api-Key-0b7c",
          "event.notification.enabled": "true",
          "event.notification.callback.url": receiver.url(path),
        },
        name: `deliveries ${path}`,
      },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return body<Created>(response);
  }

  /** The instance's deliveries, oldest first, read from the store (a deleted instance lists none through the API). */
  const stored = async (id: number) => (await t.server.storage.events.listForInstance(account.organizationId, id, 100)).reverse();

  /** The instance's deliveries once `done` holds of them; fails after 20 s. */
  async function storedOnce(id: number, done: (all: Delivery[]) => boolean): Promise<Delivery[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const all = await stored(id);
      if (done(all)) return all;
      if (Date.now() > deadline) throw new Error(`deliveries never settled: ${JSON.stringify(all)}`);
      await sleep(50);
    }
  }

  it("sign a delivery pending across a token rotation with the new and the old secret, each verifying one v1 entry", async () => {
    // The receiver has moved to the new secret as soon as there is one, and checks both entries.
    const secrets: { old?: string; rotated?: string } = {};
    const both = (request: Received) => {
      const [current, old, ...more] = signatures(request);
      const { old: oldSecret, rotated } = secrets;
      if (oldSecret === undefined || rotated === undefined || old === undefined || more.length > 0) return false;
      return verifiesEntry(rotated, request, current!) && verifiesEntry(oldSecret, request, old);
    };
    receiver.answer((path, _nth, request) => (path !== "/rotate" ? 204 : both(request) ? 204 : 503));
    const created = await create("/rotate");
    secrets.old = created.eventSigningSecret;
    const [before] = await receiver.waitFor("/rotate", 1);
    expect(signatures(before!)).toHaveLength(1);

    const rotation = await api(`/instances/${created.id}/token`, { method: "POST" });
    expect(rotation.status).toBe(200);
    const rotated = (await body<Created>(rotation)).eventSigningSecret;
    secrets.rotated = rotated;

    const all = await storedOnce(created.id, (deliveries) => deliveries.length === 2 && deliveries.every((d) => d.status === "delivered"));
    expect(all.map((d) => [d.eventType, d.status])).toEqual([
      ["instance.created", "delivered"],
      ["instance.token_rotated", "delivered"],
    ]);
    expect(all[0]!.attempts).toBeGreaterThanOrEqual(2); // refused while it carried the old signature only
    expect(all[1]!.attempts).toBe(1); // the rotation's own event carries the retired secret too
    const last = receiver.received.filter((r) => r.path === "/rotate").at(-1)!;
    expect(typeOf(last)).toBe("instance.token_rotated");
    // Either secret alone verifies the whole header, as standardwebhooks reads it.
    expect(new Webhook(rotated).verify(last.body, last.headers)).toMatchObject({ type: "instance.token_rotated" });
    expect(new Webhook(created.eventSigningSecret).verify(last.body, last.headers)).toMatchObject({ type: "instance.token_rotated" });
    receiver.answer(() => 204);
  });

  it("end at once when the receiver answers 410 Gone, and hold back none of the instance's later events", async () => {
    receiver.answer((path, nth) => (path === "/gone" && nth === 1 ? 410 : 204));
    const created = await create("/gone");
    // Recorded while the created event may still be pending: it waits behind it.
    expect((await api(`/instances/${created.id}`, { method: "PATCH", json: { name: "after the 410" } })).status).toBe(200);
    const all = await storedOnce(created.id, (deliveries) => deliveries.length === 2 && deliveries.every((d) => d.status !== "pending"));
    expect(all[0]).toMatchObject({ eventType: "instance.created", status: "failed", attempts: 1, lastStatus: 410 });
    expect(all[0]!.lastError).toMatch(/410 Gone/);
    expect(all[0]!.lastError).toMatch(/no more deliveries/);
    expect(all[1]).toMatchObject({ eventType: "instance.updated", status: "delivered" });
    await sleep(pastRetries);
    // The created event once (the 410 ends it), then the updated one: once, or more when a busy
    // machine let an attempt time out (at least once), never more often than the server attempted it.
    const [first, ...rest] = receiver.received.filter((r) => r.path === "/gone").map(typeOf);
    expect(first).toBe("instance.created");
    expect(new Set(rest)).toEqual(new Set(["instance.updated"]));
    expect(rest.length).toBeLessThanOrEqual(all[1]!.attempts);
  });

  it("of a deleted instance are dropped while pending, except instance.deleted, which is attempted once", async () => {
    receiver.answer((path) => (path === "/deleted" ? 500 : 204));
    const created = await create("/deleted");
    await receiver.waitFor("/deleted", 1);
    expect((await api(`/instances/${created.id}`, { method: "PATCH", json: { name: "to be deleted" } })).status).toBe(200);
    expect((await api(`/instances/${created.id}`, { method: "DELETE" })).status).toBe(204);

    const all = await storedOnce(created.id, (deliveries) => deliveries.every((d) => d.status !== "pending"));
    expect(all.map((d) => [d.eventType, d.status])).toEqual([
      ["instance.created", "dropped"],
      ["instance.updated", "dropped"],
      ["instance.deleted", "failed"],
    ]);
    expect(all[0]!.lastError).toBe(deletedReason);
    expect(all[1]).toMatchObject({ attempts: 0, lastError: deletedReason });
    expect(all[2]).toMatchObject({ attempts: 1, lastStatus: 500, lastError: "the receiver answered 500" });
    await sleep(pastRetries);
    expect(receiver.received.filter((r) => r.path === "/deleted" && typeOf(r) === "instance.deleted")).toHaveLength(1);
    expect((await stored(created.id))[2]).toMatchObject({ status: "failed", attempts: 1 });
    receiver.answer(() => 204);
  });
});
