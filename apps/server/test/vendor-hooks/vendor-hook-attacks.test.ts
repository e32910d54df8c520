// The receiving URLs and the hook registration attacked: by an anonymous client guessing secrets
// or sending hostile bodies, by a tenant flooding its own URL or moving its instance to another
// vendor host, by a vendor answering a registration with a hostile id, a huge body or a redirect.
// SQLite only (the store plays no part in these); a fake SugarCRM over TLS on 127.0.0.1 under two
// names, reached through the real outbound guard. Nothing leaves this machine.
import { connect, createServer, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultVendorHooks } from "../../src/config.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";
import { guardedStream } from "../../src/outbound/guarded-stream.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import {
  fakeSugarcrm,
  fakeSugarcrmHooks,
  goodPassword,
  startFakeVendor,
  sugarDate,
  type FakeAnswer,
  type FakeVendor,
  type RecordedRequest,
} from "../../test-support/fake-vendor.js";
import { shortEventWaits } from "../events/event-test-settings.js";
import { toReceiver } from "../outbound/outbound-fakes.js";
import { body, startTestServer, type TestServer } from "../harness.js";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const vendorNames = ["sugar.test", "sugar2.test", "elsewhere.test"];
const lookup = (hostname: string) => Promise.resolve(vendorNames.includes(hostname) ? [{ address: "127.0.0.1", family: 4 }] : []);

describe("attacks on SugarCRM's web logic hooks", { timeout: 60_000 }, () => {
  const sugar = fakeSugarcrm({ expiresIn: 3600 });
  const hooks = fakeSugarcrmHooks({ accepts: (token) => sugar.issued.some((t) => t.accessToken === token) });
  /** Answers a registration instead of the fake's hooks (undefined: the fake answers). */
  let hostile: ((request: RecordedRequest) => FakeAnswer | undefined) | undefined;
  let vendor: FakeVendor;
  let receiver: EventReceiver;
  let publicUrl: string;
  let port: number;
  let t: TestServer;

  beforeAll(async () => {
    receiver = await startEventReceiver();
    vendor = await startFakeVendor({
      names: vendorNames,
      handle: (request) =>
        hostile?.(request) ?? (hooks.takes(request) ? hooks.answer(request) : { status: 404, body: { error: "not_found" } }),
    });
    vendor.on("POST /rest/v10/oauth2/token", (request) => sugar.answer(request));
    const stream = guardedStream({
      allowedHosts: [vendor.host],
      ca: vendor.caPem,
      lookup,
      answerTimeoutMs: 2_000,
      connectionsPerOrigin: 4,
    });
    const toTheReceiver = toReceiver(receiver.port);
    const toTheVendor = guardedSender({ allowedHosts: [vendor.host], ca: vendor.caPem, lookup });
    port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    t = await startTestServer({
      config: {
        provisioning: "live",
        events: shortEventWaits,
        port,
        publicUrl,
        vendorHooks: { ...defaultVendorHooks, perInstancePerMinute: 5, bodyMaxBytes: 64 * 1024, vendorAnswerMaxBytes: 4 * 1024 },
      },
      outbound: {
        checkOutboundUrl: toTheReceiver.checkOutboundUrl,
        send: (request) => (request.url.port === String(receiver.port) ? toTheReceiver.send(request) : toTheVendor(request)),
        stream,
      },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await vendor?.close();
    await receiver?.close();
  });

  const configuration = (site: string, modules: string[]) => ({
    "oauth.api.key": "key-1234567",
    "oauth.api.secret": "secret-1234567",
    "site.url": `${site}:${vendor.port}`,
    username: "sales",
    password: goodPassword,
    "event.notification.enabled": "true",
    "event.notification.callback.url": receiver.url("/attacks"),
    "event.poller.configuration": JSON.stringify(Object.fromEntries(modules.map((m) => [m, {}]))),
  });
  const create = (modules: string[], site = "sugar.test") =>
    t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "sugarcrmv2" }, configuration: configuration(site, modules), name: "attacked" },
    });

  /** A hooked instance and the receiving URLs its registration handed the vendor, by module. */
  async function hooked(modules: string[]) {
    const known = new Set(hooks.hooks.keys());
    const created = await create(modules);
    expect(created.status).toBe(200);
    const { id } = await body<{ id: number }>(created);
    const urls = Object.fromEntries([...hooks.hooks.values()].filter((h) => !known.has(h.id)).map((h) => [h.webhook_target_module, h.url]));
    return { id, urls };
  }

  const record = (id = "r-1") => ({ data: { id, date_entered: sugarDate(Date.now()), date_modified: sugarDate(Date.now()) } });
  const post = (url: string, payload: unknown = record()) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof payload === "string" ? payload : JSON.stringify(payload),
    });

  it("answers a guessed secret, another instance's resource and a deleted instance's URL alike: status, body and headers", async () => {
    const a = await hooked(["Contacts"]);
    const b = await hooked(["Leads"]);
    const gone = await hooked(["Calls"]);
    expect((await t.api(`/instances/${gone.id}`, { method: "DELETE" })).status).toBe(204);
    const answers = [
      await post(a.urls.Contacts!.replace(/vh_[A-Za-z0-9_-]{43}/, `vh_${"B".repeat(43)}`)),
      await post(a.urls.Contacts!.replace(/\/Contacts$/, "/Leads")), // A's secret, B's resource
      await post(b.urls.Leads!.replace(/\/Leads$/, "/Contacts")),
      await post(gone.urls.Calls!),
      await post(a.urls.Contacts!.replace(/vh_[A-Za-z0-9_-]{43}/, "vh_short")),
    ];
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    const shapes = await Promise.all(
      answers.map(async (r) => {
        const { requestId: _id, ...problem } = (await r.json()) as Record<string, unknown>;
        const headers = [...r.headers.keys()].filter((name) => !["date", "x-request-id", "content-length"].includes(name)).sort();
        return JSON.stringify([problem, headers]);
      }),
    );
    expect(new Set(shapes).size).toBe(1);
    // No secret in any log line, the instance's representation or its deliveries.
    const secrets = Object.values({ ...a.urls, ...b.urls }).map((url) => /\/(vh_[^/]+)\//.exec(url)![1]!);
    const shown = [
      t.rawLogs(),
      await (await t.api(`/instances/${a.id}`)).text(),
      await (await t.api(`/instances/${a.id}/deliveries`)).text(),
      await (await t.api(`/instances?pageSize=100`)).text(),
    ].join("\n");
    for (const secret of secrets) expect(shown).not.toContain(secret);
  });

  it("keeps one instance's flood from starving another's URL", async () => {
    const flooder = await hooked(["Contacts"]);
    const other = await hooked(["Contacts"]);
    const statuses: number[] = [];
    for (let n = 0; n < 8; n++) statuses.push((await post(flooder.urls.Contacts!, record(`f-${n}`))).status);
    expect(statuses.slice(0, 5)).toEqual([202, 202, 202, 202, 202]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    expect((await post(other.urls.Contacts!, record("o-1"))).status).toBe(202);
  });

  it("takes a record with __proto__ as plain data, and a deeply nested one without a 5xx", async () => {
    const { urls } = await hooked(["Contacts", "Leads"]);
    const polluting = `{"data":{"id":"p-1","date_entered":"${sugarDate(Date.now())}","date_modified":"${sugarDate(Date.now())}","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}`;
    expect((await post(urls.Contacts!, polluting)).status).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const depth = 20_000;
    const deep = `{"data":{"id":"d-1","date_modified":"${sugarDate(Date.now())}","deep":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
    expect((await post(urls.Leads!, deep)).status).toBe(202);
    // Another instance's URL: five posts a minute each.
    const odds = await hooked(["Leads"]);
    for (const odd of ["[]", "null", '{"data":[1]}', '{"data":{"id":{"x":1},"date_modified":"now"}}', "\uFEFF{}"]) {
      expect((await post(odds.urls.Leads!, odd)).status).toBe(400);
    }
  });

  it("refuses a record whose id no event could carry: longer than the spec's 1024 characters, or a number JSON rounds", async () => {
    const { id, urls } = await hooked(["Contacts"]);
    const now = sugarDate(Date.now());
    const posts = [
      `{"data":{"id":"${"i".repeat(1025)}","date_modified":"${now}"}}`,
      `{"data":{"id":12345678901234567891,"date_modified":"${now}"}}`, // read as ...567900: another record's, maybe
      `{"data":{"id":"","date_modified":"${now}"}}`,
      `{"data":{"id":1e400,"date_modified":"${now}"}}`,
    ];
    const answers = await Promise.all(posts.map((payload) => post(urls.Contacts!, payload)));
    expect(answers.map((r) => r.status)).toEqual([400, 400, 400, 400]);
    const problem = (await answers[0]!.json()) as { errors: { message: string }[] };
    expect(problem.errors[0]!.message.length).toBeLessThanOrEqual(129);
    expect((await post(urls.Contacts!, `{"data":{"id":"${"i".repeat(1024)}","date_modified":"${now}"}}`)).status).toBe(202);
    const listed = await body<{ eventType: string }[]>(await t.api(`/instances/${id}/deliveries`));
    expect(listed.filter((d) => d.eventType.startsWith("vendor."))).toHaveLength(1);
  });

  it("answers an endless chunked body 413 at the limit and closes the connection", async () => {
    const { urls } = await hooked(["Contacts"]);
    const path = new URL(urls.Contacts!).pathname;
    const socket = connect(port, "127.0.0.1");
    const answer = new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      socket.on("close", () => resolve(text));
      socket.on("error", () => resolve(text));
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = `${(8192).toString(16)}\r\n${"x".repeat(8192)}\r\n`;
    let sent = 0;
    const writing = setInterval(() => {
      if (socket.destroyed || sent > 10_000) return clearInterval(writing);
      socket.write(chunk);
      sent += 1;
    }, 1);
    const text = await answer;
    clearInterval(writing);
    expect(text.split("\r\n")[0]).toBe("HTTP/1.1 413 Payload Too Large");
    expect(sent).toBeLessThan(1_000); // cut well before the 10,000 chunks (80 MB) the client would send
  });

  it("refuses a registration answered with an id that would leave the hooks' path, and sends no removal outside it", async () => {
    for (const id of ["..", ".", "a/b", "x".repeat(500)]) {
      hostile = (request) =>
        request.method === "POST" && request.path === "/rest/v10/WebLogicHooks" ? { status: 200, body: { id } } : undefined;
      const before = vendor.requests.length;
      try {
        const refused = await create(["Contacts"]);
        expect(refused.status).toBe(502);
      } finally {
        hostile = undefined;
      }
      const removals = vendor.requests.slice(before).filter((r) => r.method === "DELETE");
      expect(removals).toEqual([]);
    }
  });

  it("refuses a registration answered with a huge body or a redirect, and follows no redirect", async () => {
    const answers: FakeAnswer[] = [
      { status: 200, body: { id: "big", padding: "x".repeat(64 * 1024) } },
      { status: 307, body: {}, headers: { location: `https://elsewhere.test:${vendor.port}/rest/v10/WebLogicHooks` } },
      { status: 302, body: {}, headers: { location: `/rest/v10/Stolen` } },
    ];
    for (const answer of answers) {
      hostile = (request) => (request.method === "POST" && request.path === "/rest/v10/WebLogicHooks" ? answer : undefined);
      const before = vendor.requests.length;
      try {
        expect((await create(["Contacts"])).status).toBe(502);
      } finally {
        hostile = undefined;
      }
      const after = vendor.requests.slice(before);
      expect(after.filter((r) => r.host.startsWith("elsewhere.test") || r.path === "/rest/v10/Stolen")).toEqual([]);
    }
  });

  it("refuses a module name that would leave the receiving URL's path or the hooks' body, and registers nothing", async () => {
    const before = vendor.requests.filter((r) => r.path === "/rest/v10/WebLogicHooks").length;
    for (const module of ["../oauth2/token", "Contacts/x", "Contacts?x=1", "%2e%2e", "Con tacts", "x".repeat(101)]) {
      const refused = await create([module]);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { type: string }).type).toBe("urn:instances-api:problem:invalid-configuration");
    }
    expect(vendor.requests.filter((r) => r.path === "/rest/v10/WebLogicHooks")).toHaveLength(before);
  });

  it("registers a module named constructor or toString as any other (fixed: taken as registered already, never registered)", async () => {
    const { urls } = await hooked(["constructor", "toString"]);
    expect(Object.keys(urls).sort()).toEqual(["constructor", "toString"]);
  });

  it("moving the instance to another SugarCRM host registers its hooks there anew, sends no old id there, and retires the old URL", async () => {
    const { id, urls } = await hooked(["Contacts"]);
    const oldUrl = urls.Contacts!;
    const known = new Set(hooks.hooks.keys());
    const before = vendor.requests.length;
    const moved = await t.api(`/instances/${id}`, { method: "PATCH", json: { configuration: configuration("sugar2.test", ["Contacts"]) } });
    expect(moved.status).toBe(200);
    const sent = vendor.requests.slice(before);
    const registrations = sent.filter((r) => r.method === "POST" && r.path === "/rest/v10/WebLogicHooks");
    expect(registrations.map((r) => r.host)).toEqual([`sugar2.test:${vendor.port}`]);
    expect(sent.filter((r) => r.method === "DELETE")).toEqual([]); // the old host's ids mean nothing at the new one
    const [fresh] = [...hooks.hooks.values()].filter((h) => !known.has(h.id));
    expect(fresh!.url).not.toBe(oldUrl);
    expect((await post(oldUrl, record("old"))).status).toBe(404);
    expect((await post(fresh!.url, record("new"))).status).toBe(202);
    const warned = t.logs.find((line) => String(line.msg).startsWith("vendor webhooks left at the vendor's old address"));
    expect(warned?.origin).toBe(`https://sugar.test:${vendor.port}`);
    // No credential of the instance went to the new host before the change's check: the token call comes first.
    const firstToNew = sent.findIndex((r) => r.host.startsWith("sugar2.test"));
    expect(sent[firstToNew]!.path).toBe("/rest/v10/oauth2/token");
  });

  it("moving to another host and to polling at once sends the old host's hook ids nowhere, and logs them", async () => {
    const { id, urls } = await hooked(["Tasks"]);
    const before = vendor.requests.length;
    const warnings = t.logs.length;
    const changed = await t.api(`/instances/${id}`, {
      method: "PATCH",
      json: { configuration: { ...configuration("sugar2.test", ["Tasks"]), "event.vendor.type": "polling" } },
    });
    expect(changed.status).toBe(200);
    expect(vendor.requests.slice(before).filter((r) => r.path.startsWith("/rest/v10/WebLogicHooks"))).toEqual([]);
    const warned = t.logs.slice(warnings).find((line) => String(line.msg).startsWith("vendor webhooks left at the vendor's old address"));
    expect(warned?.origin).toBe(`https://sugar.test:${vendor.port}`);
    expect((await post(urls.Tasks!, record("moved"))).status).toBe(404);
  });

  it("retires a receiving URL for good once polling takes over: it stays 404 after webhooks come back", async () => {
    const { id, urls } = await hooked(["Opportunities"]);
    const switchTo = (type: string) =>
      t.api(`/instances/${id}`, { method: "PATCH", json: { configuration: { "event.vendor.type": type } } });
    expect((await switchTo("polling")).status).toBe(200);
    expect((await post(urls.Opportunities!, record("while-polled"))).status).toBe(404);
    expect((await switchTo("webhook")).status).toBe(200);
    expect((await post(urls.Opportunities!, record("after"))).status).toBe(404);
  });

  it("writes no receiving secret, taken or guessed, in any log line, whatever the attacks above were answered", () => {
    expect(t.rawLogs()).not.toMatch(/vh_[A-Za-z0-9_-]{20}/);
  });
});

describe("attacks on a simulated vendor change (sandbox)", () => {
  let receiver: EventReceiver;
  let t: TestServer;
  beforeAll(async () => {
    receiver = await startEventReceiver();
    t = await startTestServer({ config: { events: { ...shortEventWaits, pollIntervalMs: 60_000 } }, outbound: toReceiver(receiver.port) });
  });
  afterAll(async () => {
    await t.stop();
    await receiver.close();
  });

  const instanceOf = async (authorization?: string) => {
    const created = await t.api("/instances", {
      method: "POST",
      ...(authorization ? { headers: { Authorization: authorization } } : {}),
      json: {
        your_mom: { key: "sugarcrmv2" },
        configuration: {
          "oauth.api.key": "key-1234567",
          "oauth.api.secret": "secret-1234567",
          "site.url": "crm.example.com",
          username: "sales",
          password: "s3cret-Passw0rd",
          "event.vendor.type": "polling",
          "event.notification.enabled": "true",
          "event.notification.callback.url": receiver.url("/simulated"),
        },
        name: "simulated",
      },
    });
    expect(created.status).toBe(200);
    return (await body<{ id: number }>(created)).id;
  };
  const change = (record: unknown) => ({ type: "vendor.record.updated", resource: "Contacts", recordId: "r-1", record });
  /** A change whose record nests `depth` objects, as JSON text (too deep for this side's JSON.stringify, maybe). */
  const nestedChange = (depth: number) =>
    `{"type":"vendor.record.updated","resource":"Contacts","recordId":"r-1","record":${'{"a":'.repeat(depth - 1)}{"id":"r-1"}${"}".repeat(depth - 1)}}`;
  const simulate = (id: number, text: string) =>
    t.api(`/instances/${id}/events/simulated-change`, { method: "POST", headers: { "Content-Type": "application/json" }, body: text });

  it("answers another organization's instance 404, as one that does not exist", async () => {
    const stranger = await t.newAccount("stranger");
    const theirs = await instanceOf(stranger.authorization);
    const refused = await t.api(`/instances/${theirs}/events/simulated-change`, { method: "POST", json: change({ id: "r-1" }) });
    const missing = await t.api(`/instances/999999/events/simulated-change`, { method: "POST", json: change({ id: "r-1" }) });
    expect([refused.status, missing.status]).toEqual([404, 404]);
  });

  it("refuses a record nested deeper than a poll's record may be (400), however deep, without a 5xx", async () => {
    const id = await instanceOf();
    for (const depth of [20_000, 65]) expect((await simulate(id, nestedChange(depth))).status).toBe(400);
    expect((await simulate(id, nestedChange(64))).status).toBe(202);
  });
});
