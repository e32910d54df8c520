// POST /instances/{id}/events/simulated-change, against the real server on SQLite and on
// PostgreSQL and a local receiver on 127.0.0.1 (which holds every request to the spec's webhooks
// section): with the vendors simulated (PROVISIONING=sandbox, the default), the change goes out at
// once as a signed vendor.record.* event, marked `simulated`, the record as given, and is listed;
// the instance does not change. Refused where the vendor is not simulated or sends no events (409),
// while notifications are off (409), for a record larger than the poller's cap and a body the
// spec refuses (400), and beyond one a second (429).
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";
import type { EventReceiver } from "../../test-support/event-receiver.js";
import { bothStores, shortEventWaits } from "./event-test-settings.js";
import { eventsTo } from "../support/instance-configurations.js";
import { serverWithReceiver } from "./server-with-receiver.js";

// No poll within a test: what goes out at once went because the write cued the dispatcher.
const events = { ...shortEventWaits, pollIntervalMs: 60_000 };

interface VendorEvent {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const sugar = (configuration: Record<string, string>) => ({
  your_mom: { key: "sugarcrmv2" },
  configuration: {
    "oauth.api.key": "key-1234567",
    "oauth.api.secret": "secret-1234567",
    "site.url": "crm.example.com",
    username: "sales",
    password: "s3cret-Passw0rd",
    // SugarCRM's default, webhook, needs the server's PUBLIC_URL once notifications are on.
    "event.vendor.type": "polling",
    ...configuration,
  },
  name: "simulated",
});

const change = {
  type: "vendor.record.updated",
  resource: "Contacts",
  recordId: "f16760a4-3a52-f77d-1522-5703ca28925f",
  changedAt: "2026-12-06T05:14:41-04:00",
  record: { id: "f16760a4-3a52-f77d-1522-5703ca28925f", date_modified: "2026-12-06T05:14:41-04:00", name: "Ada Lovelace" },
};

describe.each(bothStores)("a simulated vendor change on %s", (_name, open) => {
  let receiver: EventReceiver;
  let t: TestServer;
  serverWithReceiver(open, { events }, (server, started) => {
    t = server;
    receiver = started;
  });

  const withEvents = (path: string) => eventsTo(receiver.url(path));

  async function create(json: unknown): Promise<{ id: number; eventSigningSecret: string }> {
    const response = await t.api("/instances", { method: "POST", json });
    expect(response.status, await response.clone().text()).toBe(200);
    return body(response);
  }

  const simulate = (id: number, json: unknown) => t.api(`/instances/${id}/events/simulated-change`, { method: "POST", json });

  it("sends the change at once as a signed vendor event, marked simulated, and lists it; the instance stays as it was", async () => {
    const instance = await create(sugar(withEvents("/simulated")));
    const etag = (await t.api(`/instances/${instance.id}`)).headers.get("etag");
    const answer = await simulate(instance.id, change);
    expect(answer.status).toBe(202);
    const delivery = await body<{ webhookId: string; eventType: string; status: string }>(answer);
    expect(delivery).toMatchObject({ eventType: "vendor.record.updated", status: "pending" });

    // After the instance's own instance.created, in order.
    const [created, received] = await receiver.waitFor("/simulated", 2, 10_000);
    expect([created!.type, received!.type]).toEqual(["instance.created", "vendor.record.updated"]);
    expect(received!.webhookId).toBe(delivery.webhookId);
    const event = new Webhook(instance.eventSigningSecret).verify(received!.body, received!.headers) as VendorEvent;
    expect(event.data).toEqual({
      instanceId: instance.id,
      resource: "Contacts",
      recordId: change.recordId,
      changedAt: "2026-12-06T09:14:41.000Z",
      record: change.record,
      simulated: true,
    });
    expect(received!.problems).toEqual([]);
    const listed = await body<{ webhookId: string }[]>(await t.api(`/instances/${instance.id}/deliveries`));
    expect(listed.map((d) => d.webhookId)).toContain(delivery.webhookId);
    expect((await t.api(`/instances/${instance.id}`)).headers.get("etag")).toBe(etag);
  });

  it("sends a created record changed now when no change time is given", async () => {
    const instance = await create({
      your_mom: { key: "freshservice" },
      configuration: { username: "api-key-1234", password: "x", subdomain: "acme", ...withEvents("/created") },
      name: "help desk",
    });
    const before = Date.now();
    const { changedAt: _changedAt, ...now } = {
      ...change,
      type: "vendor.record.created",
      resource: "tickets",
      recordId: "42",
      record: { id: 42 },
    };
    expect((await simulate(instance.id, now)).status).toBe(202);
    const [, received] = await receiver.waitFor("/created", 2, 10_000);
    const event = new Webhook(instance.eventSigningSecret).verify(received!.body, received!.headers) as VendorEvent;
    expect(event.type).toBe("vendor.record.created");
    expect(Date.parse(String(event.data.changedAt))).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  });

  it("refuses a connector whose changes become no events, and an instance whose notifications are off (409)", async () => {
    const taxify = await create({
      your_mom: { key: "taxify" },
      configuration: { "api.key": "Taxify-Api-Key-0b7c", ...withEvents("/x") },
      name: "t",
    });
    const refused = await simulate(taxify.id, change);
    expect(refused.status).toBe(409);
    expect(await body(refused)).toMatchObject({ type: "urn:instances-api:problem:vendor-not-simulated" });
    const quiet = await create(sugar({}));
    const off = await simulate(quiet.id, change);
    expect(off.status).toBe(409);
    expect(await body(off)).toMatchObject({ type: "urn:instances-api:problem:notifications-off" });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a record larger than the poller's cap", { ...change, record: { blob: "x".repeat(70_000) } }, "/body/record"],
    ["a record that is not an object", { ...change, record: "a string" }, "/body/record"],
    ["an event type that is not a vendor record's", { ...change, type: "instance.deleted" }, "/body/type"],
    ["a resource that is not a name", { ...change, resource: "../Contacts" }, "/body/resource"],
    ["no record id", { ...change, recordId: "" }, "/body/recordId"],
    ["a change time that is not one", { ...change, changedAt: "yesterday" }, "/body/changedAt"],
    ["an unknown property", { ...change, simulated: true }, "/body/simulated"],
  ])("refuses %s (400 naming it)", async (_name, json, path) => {
    const instance = await create(sugar(withEvents("/refused")));
    const refused = await simulate(instance.id, json);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await body(refused))).toContain(path);
  });

  it("allows one a second per instance and event type (429 with Retry-After beyond)", async () => {
    const instance = await create(sugar(withEvents("/often")));
    expect((await simulate(instance.id, change)).status).toBe(202);
    const again = await simulate(instance.id, change);
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await sleep(1_050);
    expect((await simulate(instance.id, change)).status).toBe(202);
  });
});

describe("a simulated vendor change on a server whose vendors are not simulated", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ config: { provisioning: "off", events } });
  });
  afterAll(() => t.stop());

  it("is refused (409), saying why", async () => {
    const created = await t.api("/instances", {
      method: "POST",
      json: sugar({ "event.notification.enabled": "true", "event.notification.callback.url": "https://hooks.example.com/a" }),
    });
    const { id } = await body<{ id: number }>(created);
    const refused = await t.api(`/instances/${id}/events/simulated-change`, { method: "POST", json: change });
    expect(refused.status).toBe(409);
    const problem = await body<{ type: string; message: string }>(refused);
    expect(problem.type).toBe("urn:instances-api:problem:vendor-not-simulated");
    expect(problem.message).toContain("PROVISIONING=off");
  });
});
