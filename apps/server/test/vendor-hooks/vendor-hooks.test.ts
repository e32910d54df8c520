// SugarCRM's web logic hooks, end to end, on SQLite and PostgreSQL: a fake SugarCRM over TLS on
// 127.0.0.1 (reached as `sugar.test:<port>` through the real outbound guard, an injected resolver
// answering 127.0.0.1) that keeps the hooks registered and posts a save to them, as Sugar's
// scheduler does; the server's PUBLIC_URL on 127.0.0.1; a receiver of events that holds every
// payload to the spec's webhooks. Nothing leaves this machine.
import { createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultVendorHooks, type StorageConfig } from "../../src/config.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { fakeSugarcrm, fakeSugarcrmHooks, startFakeVendor, sugarDate, type FakeVendor } from "../../test-support/fake-vendor.js";
import { bothStores, shortEventWaits } from "../events/event-test-settings.js";
import { guardedToFakes } from "../outbound/guarded-to-fakes.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { eventsTo, sugarcrmConfiguration, vendorEventsOf } from "../support/instance-configurations.js";
import { until } from "../support/until.js";
import { vendorEvents as receivedVendorEvents } from "../support/vendor-events.js";

/** A port nothing listens on now: the server's, known before it starts, so that its PUBLIC_URL can name it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(bothStores)("SugarCRM's web logic hooks on %s", { timeout: 60_000 }, (_name, open) => {
  const sugar = fakeSugarcrm({ expiresIn: 3600 });
  const hooks = fakeSugarcrmHooks({ accepts: (token) => sugar.issued.some((t) => t.accessToken === token) });
  let stopStore: () => Promise<void>;
  let vendor: FakeVendor;
  let receiver: EventReceiver;
  let publicUrl: string;
  let t: TestServer;

  beforeAll(async () => {
    const store: { storage?: StorageConfig; stop: () => Promise<void> } = await open();
    stopStore = store.stop;
    receiver = await startEventReceiver();
    vendor = await startFakeVendor({
      names: ["sugar.test"],
      handle: (request) => (hooks.takes(request) ? hooks.answer(request) : { status: 404, body: { error: "not_found" } }),
    });
    vendor.on("POST /rest/v10/oauth2/token", (request) => sugar.answer(request));
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    t = await startTestServer({
      ...(store.storage ? { storage: store.storage } : {}),
      // 20 posts a minute per instance: none of these tests posts more to one instance, but the one on the limit.
      config: {
        provisioning: "live",
        events: shortEventWaits,
        port,
        publicUrl,
        vendorHooks: { ...defaultVendorHooks, perInstancePerMinute: 20 },
      },
      outbound: guardedToFakes({ vendors: [vendor], names: ["sugar.test"], receiver }),
    });
  }, 120_000);
  afterAll(async () => {
    await t?.stop(); // closes the stream too
    await vendor?.close();
    await receiver?.close();
    await stopStore?.();
  });

  async function hookedInstance(path: string, modules: string[]) {
    const created = await t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "sugarcrmv2" },
        configuration: { ...sugarcrmConfiguration(vendor), ...vendorEventsOf(receiver.url(path), modules) },
        name: "hooked",
      },
    });
    expect(created.status).toBe(200);
    return body<{ id: number; eventSigningSecret: string }>(created);
  }

  /** The hooks registered since `before` (a count of hooks.hooks' entries), by module. */
  const hooksOf = (urlPart: string) => [...hooks.hooks.values()].filter((hook) => hook.url.includes(urlPart));
  const newHooks = (known: Set<string>) => [...hooks.hooks.values()].filter((hook) => !known.has(hook.id));

  const vendorEvents = (path: string, secret: string) => receivedVendorEvents(receiver, path, secret);

  it("registers an after_save hook per watched module, and sends what SugarCRM posts there once, signed", async () => {
    const known = new Set(hooks.hooks.keys());
    const instance = await hookedInstance("/hooked", ["Contacts", "Leads"]);
    const registered = newHooks(known);
    expect(registered.map((hook) => hook.webhook_target_module).sort()).toEqual(["Contacts", "Leads"]);
    for (const hook of registered) {
      expect(hook).toMatchObject({ trigger_event: "after_save", request_method: "POST" });
      expect(hook.url).toMatch(
        new RegExp(`^${publicUrl}/your_moms/api-v2/vendor-hooks/vh_[A-Za-z0-9_-]{43}/${hook.webhook_target_module}$`),
      );
    }
    // Registered with the instance's own SugarCRM token.
    const asked = vendor.requests.filter((r) => r.method === "POST" && r.path === "/rest/v10/WebLogicHooks").slice(-2);
    expect(asked.every((r) => sugar.issued.some((tokens) => tokens.accessToken === r.headers["oauth-token"]))).toBe(true);

    const entered = Date.now() - 60_000;
    const created = { id: "c-1", date_entered: sugarDate(entered), date_modified: sugarDate(entered), first_name: "Ada" };
    const updated = { ...created, date_modified: sugarDate(entered + 30_000), first_name: "Ada B." };
    expect(await hooks.fire("Contacts", created, false)).toEqual([202]);
    expect(await hooks.fire("Contacts", updated, true)).toEqual([202]);
    await until(() => (vendorEvents("/hooked", instance.eventSigningSecret).length >= 2 ? true : undefined), 20);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const events = vendorEvents("/hooked", instance.eventSigningSecret);
    expect(events.map((e) => [e.type, e.data.recordId])).toEqual([
      ["vendor.record.created", "c-1"],
      ["vendor.record.updated", "c-1"],
    ]);
    expect(events[1]!.data).toEqual({
      instanceId: instance.id,
      resource: "Contacts",
      recordId: "c-1",
      changedAt: new Date(Math.floor((entered + 30_000) / 1000) * 1000).toISOString(),
      record: updated,
    });
    // The receiving URL's secret is in no log line.
    const secret = /\/vendor-hooks\/(vh_[^/]+)\//.exec(registered[0]!.url)![1]!;
    expect(t.rawLogs()).not.toContain(secret);
  });

  it("refuses a forged, an oversized or a malformed post, and one for a resource its secret's instance does not watch: nothing is enqueued", async () => {
    const known = new Set(hooks.hooks.keys());
    const instance = await hookedInstance("/refused", ["Contacts"]);
    await hookedInstance("/other", ["Leads"]);
    const [own] = newHooks(known).filter((hook) => hook.webhook_target_module === "Contacts");
    const ownUrl = own!.url;
    const record = JSON.stringify({ data: { id: "x", date_entered: sugarDate(Date.now()), date_modified: sugarDate(Date.now()) } });
    const post = (url: string, payload: string | Buffer = record, method = "POST") =>
      fetch(url, { method, headers: { "content-type": "application/json" }, ...(method === "GET" ? {} : { body: payload }) });

    const notFound = [
      await post(ownUrl.replace(/vh_[A-Za-z0-9_-]{43}/, `vh_${"A".repeat(43)}`)), // a forged secret
      await post(ownUrl.replace(/\/Contacts$/, "/Leads")), // its secret, another instance's resource
      await post(ownUrl, record, "GET"),
      await post(`${publicUrl}/your_moms/api-v2/vendor-hooks/anything`),
      await post(`${ownUrl}?x=1`),
    ];
    const bodies = await Promise.all(notFound.map((r) => r.json() as Promise<Record<string, unknown>>));
    expect(notFound.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    expect(new Set(bodies.map(({ requestId: _id, ...rest }) => JSON.stringify(rest))).size).toBe(1);

    const tooLarge = await post(ownUrl, Buffer.alloc(300 * 1024, "x"));
    expect(tooLarge.status).toBe(413);
    const malformed = await post(ownUrl, "{not json");
    expect([malformed.status, ((await malformed.json()) as { type: string }).type]).toEqual([
      400,
      "urn:instances-api:problem:malformed-json",
    ]);
    const noRecord = await post(ownUrl, JSON.stringify({ isUpdate: true }));
    expect(noRecord.status).toBe(400);

    await new Promise((resolve) => setTimeout(resolve, 300));
    const listed = await body<{ eventType: string }[]>(await t.api(`/instances/${instance.id}/deliveries`));
    expect(listed.map((d) => d.eventType)).toEqual(["instance.created"]);
    expect(receiver.received.filter((r) => r.path === "/refused" && r.type?.startsWith("vendor."))).toEqual([]);
  });

  it("takes 20 posts a minute to an instance's URLs (as configured), then answers 429 with Retry-After", async () => {
    const known = new Set(hooks.hooks.keys());
    await hookedInstance("/limited", ["Contacts"]);
    const [hook] = newHooks(known);
    const post = () => fetch(hook!.url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const statuses: number[] = [];
    for (let n = 0; n < 20; n++) statuses.push((await post()).status);
    expect(statuses.every((status) => status === 400)).toBe(true); // taken (no record in it)
    const limited = await post();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(((await limited.json()) as { type: string }).type).toBe("urn:instances-api:problem:too-many-requests");
  });

  it("removes the hooks when the instance is deleted, and its receiving URL answers 404 from then on", async () => {
    const known = new Set(hooks.hooks.keys());
    const instance = await hookedInstance("/deleted", ["Accounts", "Opportunities"]);
    const registered = newHooks(known);
    expect(registered).toHaveLength(2);
    expect((await t.api(`/instances/${instance.id}`, { method: "DELETE" })).status).toBe(204);
    expect(registered.filter((hook) => hooks.hooks.has(hook.id))).toEqual([]);
    const removals = vendor.requests.filter((r) => r.method === "DELETE" && r.path.startsWith("/rest/v10/WebLogicHooks/"));
    expect(removals.map((r) => r.path).sort()).toEqual(registered.map((hook) => `/rest/v10/WebLogicHooks/${hook.id}`).sort());
    const late = await fetch(registered[0]!.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: { id: "a", date_entered: sugarDate(Date.now()), date_modified: sugarDate(Date.now()) } }),
    });
    expect(late.status).toBe(404);
    expect(hooksOf(registered[0]!.url)).toEqual([]);
  });

  it("deletes the instance when SugarCRM fails the removal of its hooks, and logs what is left for the operator", async () => {
    const known = new Set(hooks.hooks.keys());
    const instance = await hookedInstance("/kept", ["Contacts"]);
    const [left] = newHooks(known);
    hooks.failWith((request) => (request.method === "DELETE" ? 503 : undefined));
    try {
      expect((await t.api(`/instances/${instance.id}`, { method: "DELETE" })).status).toBe(204);
    } finally {
      hooks.failWith(undefined);
    }
    expect((await t.api(`/instances/${instance.id}`)).status).toBe(404);
    expect(hooks.hooks.has(left!.id)).toBe(true); // still at SugarCRM: its posts now get 404
    const warned = t.logs.find((line) => String(line.msg).startsWith("could not remove vendor webhooks"));
    expect(warned?.instance).toBe(`instance ${instance.id} (deleted)`);
    expect((warned?.failed as Record<string, string>).Contacts).toContain(left!.id);
    const record = { id: "k", date_entered: sugarDate(Date.now()), date_modified: sugarDate(Date.now()) };
    expect(await hooks.fire("Contacts", record, false)).toContain(404);
    expect(receiver.received.filter((r) => r.path === "/kept" && r.type?.startsWith("vendor."))).toEqual([]);
  });

  it("removes the hooks when polling takes over, and registers them again when webhooks come back", async () => {
    const known = new Set(hooks.hooks.keys());
    const instance = await hookedInstance("/switched", ["Contacts"]);
    const [first] = newHooks(known);
    const patch = (value: string) =>
      t.api(`/instances/${instance.id}`, { method: "PATCH", json: { configuration: { "event.vendor.type": value } } });
    expect((await patch("polling")).status).toBe(200);
    expect(hooks.hooks.has(first!.id)).toBe(false);
    expect((await patch("webhook")).status).toBe(200);
    const [again] = newHooks(new Set([...known, first!.id]));
    expect(again).toMatchObject({ webhook_target_module: "Contacts", trigger_event: "after_save" });
    // A new receiving secret: the old URL is gone for good.
    expect(again!.url).not.toBe(first!.url);
  });

  it("keeps one hook per module when a create is retried under the same Idempotency-Key", async () => {
    const known = new Set(hooks.hooks.keys());
    const key = `hooks-${Date.now()}`;
    const create = () =>
      t.api("/instances", {
        method: "POST",
        headers: { "Idempotency-Key": key },
        json: {
          your_mom: { key: "sugarcrmv2" },
          configuration: { ...sugarcrmConfiguration(vendor), ...vendorEventsOf(receiver.url("/replayed"), ["Calls"]) },
          name: "replayed",
        },
      });
    const first = await body<{ id: number }>(await create());
    const again = await body<{ id: number }>(await create());
    expect(again.id).toBe(first.id);
    // The replay registered a hook of its own while it checked the credentials, and removed it.
    const registrations = vendor.requests.filter((r) => r.method === "POST" && r.path === "/rest/v10/WebLogicHooks");
    expect(registrations.filter((r) => r.body.includes('"Calls"'))).toHaveLength(2);
    expect(newHooks(known).map((hook) => hook.webhook_target_module)).toEqual(["Calls"]);
  });

  it("creates nothing, and leaves no hook behind, when SugarCRM refuses a registration", async () => {
    const before = hooks.hooks.size;
    let registrations = 0;
    hooks.failWith((request) => (request.method === "POST" && ++registrations === 2 ? 500 : undefined));
    try {
      const listed = async () => (await body<unknown[]>(await t.api("/instances?pageSize=100"))).length;
      const count = await listed();
      const refused = await t.api("/instances", {
        method: "POST",
        json: {
          your_mom: { key: "sugarcrmv2" },
          configuration: { ...sugarcrmConfiguration(vendor), ...vendorEventsOf(receiver.url("/never"), ["Contacts", "Leads"]) },
          name: "refused",
        },
      });
      expect(refused.status).toBe(502);
      expect(((await refused.json()) as { type: string }).type).toBe("urn:instances-api:problem:vendor-unavailable");
      expect(hooks.hooks.size).toBe(before);
      expect(await listed()).toBe(count);
    } finally {
      hooks.failWith(undefined);
    }
  });
});

/** A SugarCRM the sandbox (or a server without PUBLIC_URL) never calls. */
const simulatedSugarcrm = {
  "oauth.api.key": "k",
  "oauth.api.secret": "s",
  "site.url": "acme.sugarondemand.com",
  username: "u",
  password: "p",
};

describe("vendor webhooks in sandbox", () => {
  let t: TestServer;
  beforeAll(async () => {
    // Nothing may leave: the harness's default sender and stream refuse every call.
    t = await startTestServer({ config: { publicUrl: "https://instances.example.com" } });
  });
  afterAll(() => t.stop());

  it("registers nothing at the vendor, and keeps the instance's receiving secret for when it runs live", async () => {
    const created = await t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "sugarcrmv2" },
        configuration: { ...simulatedSugarcrm, ...eventsTo("https://hooks.example.com/in") },
        name: "sandboxed",
      },
    });
    expect(created.status).toBe(200);
    const { id } = await body<{ id: number }>(created);
    const record = await t.server.storage.instances.get(1, id); // the default account's organization, the first
    expect(JSON.parse(record!.vendorHooks!)).toMatchObject({ hooks: {} });
  });
});

describe("vendor webhooks on a server without PUBLIC_URL", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.stop());

  const sugarcrm = (configuration: Record<string, string>) =>
    t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "sugarcrmv2" },
        configuration: { ...simulatedSugarcrm, ...configuration },
        name: "n",
      },
    });

  it("refuses webhooks turned on (the default event.vendor.type with notifications on), naming what to do", async () => {
    const refused = await sugarcrm({
      "event.notification.enabled": "true",
      "event.notification.callback.url": "https://hooks.example.com/in",
    });
    expect(refused.status).toBe(400);
    const problem = await body<{ type: string; errors: { path: string; message: string }[] }>(refused);
    expect(problem.type).toBe("urn:instances-api:problem:invalid-configuration");
    expect(problem.errors[0]!.path).toBe("/body/configuration/event.vendor.type");
    expect(problem.errors[0]!.message).toMatch(/PUBLIC_URL/);
  });

  it("refuses a change that turns them on, and lets other changes by", async () => {
    const polled = await sugarcrm({
      "event.vendor.type": "polling",
      "event.notification.enabled": "true",
      "event.notification.callback.url": "https://hooks.example.com/in",
    });
    const { id } = await body<{ id: number }>(polled);
    const patch = (json: unknown) => t.api(`/instances/${id}`, { method: "PATCH", json });
    const refused = await patch({ configuration: { "event.vendor.type": "webhook" } });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("PUBLIC_URL");
    expect((await patch({ name: "renamed" })).status).toBe(200);
    expect((await patch({ configuration: { "event.notification.enabled": "false", "event.vendor.type": "webhook" } })).status).toBe(200);
  });

  it.each([
    ["notifications off, as the guide sends it", {}],
    [
      "polling with notifications on",
      {
        "event.vendor.type": "polling",
        "event.notification.enabled": "true",
        "event.notification.callback.url": "https://hooks.example.com/in",
      },
    ],
  ])("accepts %s", async (_case, configuration) => {
    expect((await sugarcrm(configuration)).status).toBe(200);
  });
});
