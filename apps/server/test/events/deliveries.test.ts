// Events to each instance's callback URL, against the real server and a local receiver on
// 127.0.0.1: signed so that the `standardwebhooks` package (a kept implementation, not ours)
// verifies them, in order per instance, retried with the same webhook-id, cut when the receiver
// hangs, never to a refused address, never with a secret in the body, and listed per instance.
import { shortEventWaits } from "./event-test-settings.js";
import { createServer, type AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { toReceiver } from "../outbound/outbound-fakes.js";

const events = shortEventWaits;

let receiver: EventReceiver;
let t: TestServer;
beforeAll(async () => {
  receiver = await startEventReceiver();
  t = await startTestServer({ config: { events }, outbound: toReceiver(receiver.port) });
});
afterAll(async () => {
  await t.stop();
  await receiver.close();
});

interface Created {
  id: number;
  token: string;
  eventSigningSecret: string;
}
interface Delivery {
  webhookId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatus?: number;
  lastError?: string;
  nextAttemptDate?: string;
}
interface Event {
  type: string;
  timestamp: string;
  data: { id: number; name: string; configuration: Record<string, string | null>; token?: unknown };
}

function taxify(path: string, overrides: Record<string, string> = {}) {
  return {
    your_mom: { key: "taxify" },
    configuration: {
      "api.key": "Taxify-Api-Key-0b7c",
      "event.notification.enabled": "true",
      "event.notification.callback.url": receiver.url(path),
      ...overrides,
    },
    tags: ["events"],
    name: `events ${path}`,
  };
}

async function create(json: unknown): Promise<Created> {
  const response = await t.api("/instances", { method: "POST", json });
  expect(response.status, await response.clone().text()).toBe(200);
  return body<Created>(response);
}

async function deliveries(id: number): Promise<Delivery[]> {
  const response = await t.api(`/instances/${id}/deliveries`);
  expect(response.status).toBe(200);
  return body<Delivery[]>(response);
}

/** The instance's deliveries once `done` holds of them; fails after 20 s. */
async function deliveriesOnce(id: number, done: (all: Delivery[]) => boolean): Promise<Delivery[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const all = await deliveries(id);
    if (done(all)) return all;
    if (Date.now() > deadline) throw new Error(`deliveries never settled: ${JSON.stringify(all)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("events", () => {
  it("are signed so that standardwebhooks verifies them, and sent created, updated, token_rotated, deleted, in order", async () => {
    const created = await create(taxify("/order"));
    expect(created.eventSigningSecret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect((await t.api(`/instances/${created.id}`, { method: "PATCH", json: { name: "renamed" } })).status).toBe(200);
    // Each step once the last one's event has arrived: a delivery pending at a rotation would be
    // signed with both secrets, and one pending at the delete dropped.
    await receiver.waitFor("/order", 2);
    const rotated = await body<Created>(await t.api(`/instances/${created.id}/token`, { method: "POST" }));
    expect(rotated.eventSigningSecret).toMatch(/^whsec_/);
    expect(rotated.eventSigningSecret).not.toBe(created.eventSigningSecret);
    await receiver.waitFor("/order", 3);
    expect((await t.api(`/instances/${created.id}`, { method: "DELETE" })).status).toBe(204);

    const received = await receiver.waitFor("/order", 4);
    const first = new Webhook(created.eventSigningSecret);
    const second = new Webhook(rotated.eventSigningSecret);
    // The events up to the rotation are signed with the first secret; the rotation's and later with
    // the new one, and for 24 hours with the retired one too (the new signature first).
    const verified = received.map((r, i) => (i < 2 ? first : second).verify(r.body, r.headers) as Event);
    expect(received.map((r) => r.headers["webhook-signature"]!.split(" ").length)).toEqual([1, 1, 2, 2]);
    for (const r of received.slice(2)) expect(first.verify(r.body, r.headers)).toMatchObject({ data: { id: created.id } });
    expect(verified.map((e) => e.type)).toEqual(["instance.created", "instance.updated", "instance.token_rotated", "instance.deleted"]);
    expect(verified.map((e) => e.data.id)).toEqual(Array(4).fill(created.id));
    expect(verified[1]!.data.name).toBe("renamed");
    for (const event of verified) expect(new Date(event.timestamp).toISOString()).toBe(event.timestamp);
    expect(new Set(received.map((r) => r.headers["webhook-id"])).size).toBe(4);
    expect(received.every((r) => r.headers["content-type"] === "application/json")).toBe(true);

    // The verification can fail: another secret, a changed body, a stale timestamp are refused.
    expect(() => second.verify(received[0]!.body, received[0]!.headers)).toThrow(/signature/);
    expect(() => first.verify(received[0]!.body.replace("taxify", "taxifx"), received[0]!.headers)).toThrow(/signature/);
    const stale = { ...received[0]!.headers, "webhook-timestamp": String(Math.floor(Date.now() / 1000) - 301) };
    expect(() => first.verify(received[0]!.body, stale)).toThrow(/too old/);
  });

  it("retry a failed first attempt with the same webhook-id, and list how it went", async () => {
    receiver.answer((path, nth) => (path === "/retry" && nth === 1 ? 503 : 204));
    const created = await create(taxify("/retry"));
    const [failed, retried] = await receiver.waitFor("/retry", 2);
    expect(retried!.headers["webhook-id"]).toBe(failed!.headers["webhook-id"]);
    expect(new Webhook(created.eventSigningSecret).verify(retried!.body, retried!.headers)).toMatchObject({ type: "instance.created" });
    const [delivery] = await deliveriesOnce(created.id, (all) => all[0]?.status === "delivered");
    expect(delivery).toMatchObject({
      webhookId: failed!.headers["webhook-id"],
      eventType: "instance.created",
      status: "delivered",
      attempts: 2,
      lastStatus: 204,
    });
    expect(delivery).not.toHaveProperty("nextAttemptDate");
    receiver.answer(() => 204);
  });

  it("cut a receiver that hangs, retry it, and hold back no other instance's events meanwhile", async () => {
    receiver.answer((path, nth) => (path === "/hang" && nth === 1 ? "hang" : 204));
    const stuck = await create(taxify("/hang"));
    await receiver.waitFor("/hang", 1);
    const other = await create(taxify("/other"));
    await receiver.waitFor("/other", 1);
    expect(receiver.hanging()).toBe(1); // the other instance's event arrived while the first was still waiting

    const [cut, retried] = await receiver.waitFor("/hang", 2);
    expect(retried!.headers["webhook-id"]).toBe(cut!.headers["webhook-id"]);
    // Not retried before the cut: the timeout runs from when the sender started, the receiver's
    // clock from when the request arrived, hence a little slack.
    expect(retried!.at - cut!.at).toBeGreaterThanOrEqual(events.deliveryTimeoutMs - 100);
    const [delivery] = await deliveriesOnce(stuck.id, (all) => all[0]?.status === "delivered");
    expect(delivery!.attempts).toBe(2);
    expect((await deliveries(other.id))[0]!.status).toBe("delivered");
    receiver.answer(() => 204);
  });

  it("are never sent to a refused address: the callback URL is refused with a 400 on create, update and replace", async () => {
    const refused = "http://127.0.0.2:9/events";
    const before = receiver.received.length;
    const response = await t.api("/instances", {
      method: "POST",
      json: taxify("/x", { "event.notification.callback.url": refused }),
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
    const problem = await body<{ type: string; message: string; errors: { path: string }[] }>(response);
    expect(problem.type).toBe("urn:instances-api:problem:callback-url-not-allowed");
    expect(problem.message).toContain("127.0.0.2");
    // It says how to try events locally: the development allowance, by name.
    expect(problem.message).toContain("OUTBOUND_ALLOWED_HOSTS");
    expect(problem.errors[0]!.path).toBe("/body/configuration/event.notification.callback.url");

    const created = await create(taxify("/kept"));
    await receiver.waitFor("/kept", 1);
    const patch = await t.api(`/instances/${created.id}`, {
      method: "PATCH",
      json: { configuration: { "event.notification.callback.url": refused } },
    });
    expect(patch.status).toBe(400);
    const put = await t.api(`/instances/${created.id}`, {
      method: "PUT",
      json: taxify("/x", { "event.notification.callback.url": "http://localhost:9/events" }),
    });
    expect(put.status).toBe(400);
    const read = await body<{ configuration: Record<string, string> }>(await t.api(`/instances/${created.id}`));
    expect(read.configuration["event.notification.callback.url"]).toBe(receiver.url("/kept"));
    expect(await deliveries(created.id)).toHaveLength(1); // the create's; nothing for the refused changes
    expect(receiver.received.length).toBe(before + 1);
  });

  it("never carry a secret entry, the token or the signing secret in their body", async () => {
    const secret = "Sup3r-Secret-Password-e7d1";
    const created = await create({
      your_mom: { key: "sugarcrmv2" },
      configuration: {
        "oauth.api.key": "Consumer-Key-0f3a",
        "oauth.api.secret": "Consumer-Secret-88c2",
        "site.url": "acme.sugarondemand.com",
        username: "sales",
        password: secret,
        "event.notification.enabled": "true",
        "event.notification.callback.url": receiver.url("/secrets"),
        // Polled (the sandbox's vendor has no changes): webhooks, the default, need a PUBLIC_URL this server has not.
        "event.vendor.type": "polling",
      },
      name: "CRM events",
    });
    await t.api(`/instances/${created.id}`, { method: "PATCH", json: { configuration: { password: `${secret}-2` } } });
    const rotated = await body<Created>(await t.api(`/instances/${created.id}/token`, { method: "POST" }));
    const received = await receiver.waitFor("/secrets", 3);
    const everything = received.map((r) => `${r.body}${JSON.stringify(r.headers)}`).join("\n");
    for (const value of [secret, "Consumer-Key-0f3a", "Consumer-Secret-88c2", created.token, rotated.token]) {
      expect(everything).not.toContain(value);
    }
    for (const value of [created.eventSigningSecret, rotated.eventSigningSecret]) {
      expect(everything).not.toContain(value);
      expect(everything).not.toContain(value.slice("whsec_".length));
      expect(t.rawLogs()).not.toContain(value.slice("whsec_".length));
    }
    const event = JSON.parse(received[0]!.body) as Event;
    expect(event.data.configuration.password).toBe("********");
    expect(event.data).not.toHaveProperty("token");
    expect(event.data).not.toHaveProperty("eventSigningSecret");
  });

  it("have a signing secret shown only by create and token rotation, never by a read or a list", async () => {
    const created = await create(taxify("/shown"));
    const read = await body(await t.api(`/instances/${created.id}`));
    expect(read).not.toHaveProperty("eventSigningSecret");
    const list = await body<Record<string, unknown>[]>(await t.api("/instances?tags=events&pageSize=500"));
    expect(list.length).toBeGreaterThan(0);
    for (const instance of list) expect(instance).not.toHaveProperty("eventSigningSecret");
    const patched = await body(await t.api(`/instances/${created.id}`, { method: "PATCH", json: { name: "no secret" } }));
    expect(patched).not.toHaveProperty("eventSigningSecret");
  });

  it("stop when notifications are turned off, and the pending ones are dropped and say so", async () => {
    receiver.answer((path) => (path === "/off" ? 500 : 204));
    const created = await create(taxify("/off"));
    await receiver.waitFor("/off", 1);
    const patch = await t.api(`/instances/${created.id}`, {
      method: "PATCH",
      json: { name: "quiet", configuration: { "event.notification.enabled": "false" } },
    });
    expect(patch.status).toBe(200);
    const all = await deliveries(created.id);
    expect(all).toHaveLength(1); // no event for the change that turned them off
    expect(all[0]).toMatchObject({ eventType: "instance.created", status: "dropped" });
    expect(all[0]!.lastError).toMatch(/turned off/);
    expect(all[0]).not.toHaveProperty("nextAttemptDate");
    const sent = receiver.received.filter((r) => r.path === "/off").length;
    // Well past the first retry: nothing more was sent.
    await new Promise((resolve) => setTimeout(resolve, 3 * events.firstRetryMs + 5 * events.pollIntervalMs));
    expect(receiver.received.filter((r) => r.path === "/off").length).toBe(sent);
    receiver.answer(() => 204);
  });

  it("pending ones follow the callback URL when it changes", async () => {
    receiver.answer((path) => (path === "/old" ? 500 : 204));
    const created = await create(taxify("/old"));
    await receiver.waitFor("/old", 1);
    await t.api(`/instances/${created.id}`, {
      method: "PATCH",
      json: { configuration: { "event.notification.callback.url": receiver.url("/new") } },
    });
    const received = await receiver.waitFor("/new", 2);
    expect(received.map((r) => (JSON.parse(r.body) as Event).type)).toEqual(["instance.created", "instance.updated"]);
    receiver.answer(() => 204);
  });

  it("are sent once for a create retried with its Idempotency-Key, whose replay repeats the signing secret", async () => {
    const headers = { "Idempotency-Key": "events-once" };
    const first = await body<Created>(await t.api("/instances", { method: "POST", json: taxify("/idempotent"), headers }));
    const replay = await body<Created>(await t.api("/instances", { method: "POST", json: taxify("/idempotent"), headers }));
    expect(replay.id).toBe(first.id);
    expect(replay.eventSigningSecret).toBe(first.eventSigningSecret);
    const [delivery] = await deliveriesOnce(first.id, (all) => all[0]?.status === "delivered");
    expect(await deliveries(first.id)).toHaveLength(1);
    expect(receiver.received.filter((r) => r.path === "/idempotent").map((r) => r.headers["webhook-id"])).toEqual([delivery!.webhookId]);
  });

  it("of another organization's instance are not listed (404)", async () => {
    const created = await create(taxify("/private"));
    const stranger = await t.newAccount("stranger");
    const response = await t.api(`/instances/${created.id}/deliveries`, { headers: { Authorization: stranger.authorization } });
    expect(response.status).toBe(404);
    expect((await t.api("/instances/999999/deliveries")).status).toBe(404);
  });
});

describe("a delivery that keeps failing", () => {
  it("is given up after the retry horizon and marked failed", async () => {
    const server = await startTestServer({
      // A horizon of a few seconds: with a 1 s horizon the first attempt alone came 3.4 s after the
      // event on a machine loaded eleven times over, and the test is about retries.
      config: { events: { ...events, firstRetryMs: 200, retryHorizonSeconds: 5 } },
      outbound: toReceiver(receiver.port),
    });
    try {
      receiver.answer((path) => (path === "/down" ? 500 : 204));
      const response = await server.api("/instances", { method: "POST", json: taxify("/down") });
      const created = await body<Created>(response);
      const deadline = Date.now() + 20_000;
      let delivery: Delivery | undefined;
      while (Date.now() < deadline) {
        delivery = (await body<Delivery[]>(await server.api(`/instances/${created.id}/deliveries`)))[0];
        if (delivery?.status !== "pending") break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(delivery).toMatchObject({ status: "failed", lastStatus: 500, lastError: "the receiver answered 500" });
      expect(delivery!.attempts).toBeGreaterThanOrEqual(2);
      expect(delivery).not.toHaveProperty("nextAttemptDate");
      expect(receiver.received.filter((r) => r.path === "/down")).toHaveLength(delivery!.attempts);
    } finally {
      receiver.answer(() => 204);
      await server.stop();
    }
  });
});

describe("a delivery that cannot be made", () => {
  it("says the same words for a refused port and for a plaintext port spoken to over https (no host, port or code)", async () => {
    // A port that was just free: nothing listens on it.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const server = await startTestServer({ config: { events }, outbound: toReceiver(receiver.port, closedPort) });
    try {
      const lastErrors: string[] = [];
      for (const callback of [`http://127.0.0.1:${closedPort}/refused`, `https://127.0.0.1:${receiver.port}/plaintext`]) {
        const json = taxify("/x", { "event.notification.callback.url": callback });
        const created = await body<Created>(await server.api("/instances", { method: "POST", json }));
        const deadline = Date.now() + 20_000;
        let delivery: Delivery | undefined;
        while (delivery?.lastError === undefined && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          delivery = (await body<Delivery[]>(await server.api(`/instances/${created.id}/deliveries`)))[0];
        }
        expect(delivery).toMatchObject({ status: "pending" });
        expect(delivery).not.toHaveProperty("lastStatus");
        lastErrors.push(delivery!.lastError!);
      }
      expect(lastErrors).toEqual(["the receiver could not be reached", "the receiver could not be reached"]);
    } finally {
      await server.stop();
    }
  });
});
