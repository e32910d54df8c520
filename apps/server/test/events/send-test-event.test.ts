// POST /instances/{id}/events/test, against the real server on SQLite and on PostgreSQL and a local
// receiver on 127.0.0.1: the test event goes out at once (the dispatcher cued; its poll is a minute
// here), signed as every event so that `standardwebhooks` verifies it, with the instance as GET
// shows it and `test: true`, and is listed; the instance does not change. Refused while
// notifications are off (409, saying how to turn them on), for a callback URL the server no longer
// sends to (400, naming OUTBOUND_ALLOWED_HOSTS), beyond one a second (429 with Retry-After), and
// for another organization's instance (404).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { bothStores, shortEventWaits } from "./event-test-settings.js";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { toReceiver } from "../outbound/outbound-fakes.js";
import { eventsTo } from "../support/instance-configurations.js";
import { serverWithReceiver } from "./server-with-receiver.js";

// No poll within a test: what goes out at once went because the write cued the dispatcher.
const events = { ...shortEventWaits, pollIntervalMs: 60_000 };

interface Created {
  id: number;
  eventSigningSecret: string;
}
interface Delivery {
  webhookId: string;
  eventType: string;
  status: string;
  attempts: number;
  createdDate: string;
  lastStatus?: number;
  nextAttemptDate?: string;
}
interface Problem {
  type: string;
  status: number;
  message: string;
  errors?: unknown;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function taxify(configuration: Record<string, string>) {
  return { your_mom: { key: "taxify" }, configuration: { "api.key": "Taxify-Api-Key-0b7c", ...configuration }, name: "test events" };
}

describe.each(bothStores)("a test event on %s", (_name, open) => {
  let receiver: EventReceiver;
  let t: TestServer;
  serverWithReceiver(open, { events }, (server, started) => {
    t = server;
    receiver = started;
  });

  const withEvents = (path: string) => eventsTo(receiver.url(path));

  async function create(configuration: Record<string, string>): Promise<Created> {
    const response = await t.api("/instances", { method: "POST", json: taxify(configuration) });
    expect(response.status, await response.clone().text()).toBe(200);
    return body<Created>(response);
  }

  const sendTest = (id: number, init: RequestInit = {}) => t.api(`/instances/${id}/events/test`, { method: "POST", ...init });

  async function deliveries(id: number): Promise<Delivery[]> {
    const response = await t.api(`/instances/${id}/deliveries`);
    expect(response.status).toBe(200);
    return body<Delivery[]>(response);
  }

  it("reaches the callback URL at once, signed, with the instance as GET shows it and test: true, and is listed", async () => {
    const created = await create(withEvents("/try"));
    await receiver.waitFor("/try", 1); // instance.created
    const before = await t.api(`/instances/${created.id}`);
    const instance = await body(before);

    const response = await sendTest(created.id);
    expect(response.status, await response.clone().text()).toBe(202);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    const answer = await body<Delivery>(response);
    expect(answer).toMatchObject({ eventType: "instance.test", status: "pending", attempts: 0 });
    expect(answer.nextAttemptDate).toBe(answer.createdDate);
    expect(answer).not.toHaveProperty("lastStatus");

    // Within seconds, though the dispatcher polls once a minute here: the request cued it.
    const [, received] = await receiver.waitFor("/try", 2, 5_000);
    expect(received!.headers["webhook-id"]).toBe(answer.webhookId);
    const event = new Webhook(created.eventSigningSecret).verify(received!.body, received!.headers) as Record<string, unknown>;
    expect(event).toEqual({ type: "instance.test", timestamp: expect.any(String) as string, test: true, data: instance });
    // The verification can fail: another instance's secret is refused.
    const other = await create(withEvents("/try-other"));
    expect(() => new Webhook(other.eventSigningSecret).verify(received!.body, received!.headers)).toThrow(/signature/);

    // The instance did not change, and the listing shows the delivery the answer named, delivered.
    const after = await t.api(`/instances/${created.id}`);
    expect(after.headers.get("ETag")).toBe(before.headers.get("ETag"));
    expect(await body(after)).toEqual(instance);
    const deadline = Date.now() + 10_000;
    let listed = await deliveries(created.id);
    while (listed[0]?.status === "pending" && Date.now() < deadline) {
      await sleep(50);
      listed = await deliveries(created.id);
    }
    expect(listed.map((d) => d.eventType)).toEqual(["instance.test", "instance.created"]);
    expect(listed[0]).toMatchObject({
      webhookId: answer.webhookId,
      createdDate: answer.createdDate,
      status: "delivered",
      attempts: 1,
      lastStatus: 204,
    });
  });

  it("is refused with a 409 that says how to turn notifications on while they are off, and sent once they are", async () => {
    const created = await create({});
    const response = await sendTest(created.id);
    expect(response.status).toBe(409);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
    const problem = await body<Problem>(response);
    expect(problem.type).toBe("urn:instances-api:problem:notifications-off");
    expect(problem.message).toContain('event.notification.enabled is not "true"');
    expect(problem.message).toContain(`PATCH /instances/${created.id}`);
    expect(problem.message).toContain('"event.notification.enabled": "true"');
    expect(await deliveries(created.id)).toEqual([]);

    // As the Problem says: turned on, the test event goes out (after the change's own event).
    const patch = await t.api(`/instances/${created.id}`, { method: "PATCH", json: { configuration: withEvents("/quiet") } });
    expect(patch.status).toBe(200);
    expect((await sendTest(created.id)).status).toBe(202);
    const received = await receiver.waitFor("/quiet", 2, 5_000);
    expect(received.map((r) => r.type)).toEqual(["instance.updated", "instance.test"]);
  });

  it("is refused with a 429 and Retry-After within a second of the last, and sent after it", async () => {
    const created = await create(withEvents("/often"));
    expect((await sendTest(created.id)).status).toBe(202);
    const refused = await sendTest(created.id);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("1");
    const problem = await body<Problem>(refused);
    expect(problem.type).toBe("urn:instances-api:problem:too-many-requests");
    expect(problem.message).toContain("at most one every 1 s");
    expect((await deliveries(created.id)).filter((d) => d.eventType === "instance.test")).toHaveLength(1);

    await sleep(1_000);
    expect((await sendTest(created.id)).status).toBe(202);
    const received = await receiver.waitFor("/often", 3, 5_000);
    expect(received.map((r) => r.type)).toEqual(["instance.created", "instance.test", "instance.test"]);
  });

  it("of another organization's instance, or of none, is a 404 and sends nothing", async () => {
    const created = await create(withEvents("/private"));
    await receiver.waitFor("/private", 1);
    const stranger = await t.newAccount("stranger");
    const response = await sendTest(created.id, { headers: { Authorization: stranger.authorization } });
    expect(response.status).toBe(404);
    expect((await body<Problem>(response)).type).toBe("urn:instances-api:problem:not-found");
    expect((await sendTest(999_999)).status).toBe(404);
    expect((await deliveries(created.id)).map((d) => d.eventType)).toEqual(["instance.created"]);
    await sleep(300);
    expect(receiver.received.filter((r) => r.path === "/private")).toHaveLength(1);
  });
});

describe("a test event to a callback URL the server no longer sends to", () => {
  it("is refused with the 400 that says how to allow it (OUTBOUND_ALLOWED_HOSTS), and nothing is recorded", async () => {
    const receiver = await startEventReceiver();
    const dataDir = mkdtempSync(path.join(tmpdir(), "test-event-refused-"));
    try {
      // Created while the receiver's host:port was allowed...
      const first = await startTestServer({ dataDir, config: { events }, outbound: toReceiver(receiver.port) });
      const json = taxify({ "event.notification.enabled": "true", "event.notification.callback.url": receiver.url("/gone") });
      const created = await body<Created>(await first.api("/instances", { method: "POST", json }));
      await receiver.waitFor("/gone", 1);
      await first.stop();
      // ...and tried on a server that allows another one only.
      const t = await startTestServer({ dataDir, authorization: first.authorization, config: { events }, outbound: toReceiver(1) });
      try {
        const response = await t.api(`/instances/${created.id}/events/test`, { method: "POST" });
        expect(response.status).toBe(400);
        const problem = await body<Problem>(response);
        expect(problem.type).toBe("urn:instances-api:problem:callback-url-not-allowed");
        expect(problem.message).toContain(receiver.url("/gone"));
        expect(problem.message).toContain("OUTBOUND_ALLOWED_HOSTS");
        expect(problem).not.toHaveProperty("errors"); // the URL is the instance's, not in the request
        const listed = await body<Delivery[]>(await t.api(`/instances/${created.id}/deliveries`));
        expect(listed.map((d) => d.eventType)).toEqual(["instance.created"]);
      } finally {
        await t.stop();
      }
      expect(receiver.received).toHaveLength(1);
    } finally {
      await receiver.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
