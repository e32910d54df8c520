// The poller attacked as a hostile tenant would: the tenant writes the configuration (which
// modules, how often) and chooses the vendor (site.url), so every answer the vendor gives is
// hostile too. A fake SugarCRM over TLS on 127.0.0.1 (reached as `sugar.test:<port>` through the
// real outbound guard; an injected resolver answers 127.0.0.1, nothing leaves this machine), a
// second one as `other.test`, a receiver of events on 127.0.0.1. Each test watches modules of its
// own, so the tests share one server; a module a test scripts is answered by its handler.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultProxy } from "../../src/config.js";
import { maxRecordDepth, maxRecordsPerPage } from "../../src/polling/poll-instance.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import {
  endlessBody,
  fakeSugarcrm,
  fakeSugarcrmRecords,
  goodPassword,
  redirectTo,
  startFakeVendor,
  sugarDate,
  type FakeAnswer,
  type FakeVendor,
  type RecordedRequest,
  type VendorHandler,
} from "../../test-support/fake-vendor.js";
import { shortEventWaits } from "../events/event-test-settings.js";
import { guardedToFakes } from "../outbound/guarded-to-fakes.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { quickPolls } from "./poller-test-settings.js";
import { polledEvery, sugarcrmConfiguration, vendorEventsOf } from "../support/instance-configurations.js";
import { until } from "../support/until.js";
import { vendorEvents as receivedVendorEvents } from "../support/vendor-events.js";

const sugar = fakeSugarcrm({ expiresIn: 3600 });
const sugarOther = fakeSugarcrm({ expiresIn: 3600 });
const records = fakeSugarcrmRecords({ accepts: (token) => sugar.issued.some((t) => t.accessToken === token) });
/** Modules a test answers itself. */
const scripted = new Map<string, VendorHandler>();
/** Users whose every grant SugarCRM refuses, echoing the secret it was sent (a hostile vendor's error text). */
const refusedUsers = new Set<string>();
const userOfRefreshToken = new Map<string, string>();

const pollerSettings = {
  ...quickPolls,
  // A poll stops at half of it: 4 s, so a test of that stop waits seconds, not a quarter of a minute.
  leaseMs: 8_000,
  maxPages: 10,
  responseMaxBytes: 64 * 1024,
  backoffMaxMs: 3_000,
};
const floorMs = pollerSettings.intervalFloorMs;
/** One request to the vendor, to its answer's last byte. */
const vendorTimeoutMs = 3_000;

let vendor: FakeVendor;
let other: FakeVendor;
let receiver: EventReceiver;
let t: TestServer;

const moduleOf = (request: RecordedRequest) =>
  decodeURIComponent(new URL(request.path, "https://sugar.test").pathname.replace(/^\/rest\/v10\//, ""));

function tokenAnswer(request: RecordedRequest): FakeAnswer {
  const grant = JSON.parse(request.body || "{}") as Record<string, string>;
  const user = grant.grant_type === "password" ? grant.username : userOfRefreshToken.get(grant.refresh_token ?? "");
  if (user !== undefined && refusedUsers.has(user)) {
    const echoed = grant.password ?? grant.refresh_token;
    return { status: 401, body: { error: "need_login", error_message: `${echoed} is not valid for ${user} (${grant.client_secret})` } };
  }
  const answer = sugar.answer(request);
  const issued = answer.body as { refresh_token?: string };
  if (answer.status === 200 && user !== undefined && issued.refresh_token) userOfRefreshToken.set(issued.refresh_token, user);
  return answer;
}

beforeAll(async () => {
  receiver = await startEventReceiver();
  vendor = await startFakeVendor({
    names: ["sugar.test"],
    handle: (request, response) => (scripted.get(moduleOf(request)) ?? records.answer)(request, response),
  });
  vendor.on("POST /rest/v10/oauth2/token", tokenAnswer);
  other = await startFakeVendor({ names: ["other.test"], handle: () => ({ status: 200, body: { next_offset: -1, records: [] } }) });
  other.on("POST /rest/v10/oauth2/token", (request) => sugarOther.answer(request));
  t = await startTestServer({
    config: {
      provisioning: "live",
      events: shortEventWaits,
      proxy: { ...defaultProxy, timeoutMs: vendorTimeoutMs },
      // Every instance here asks for the shortest interval there is: a poll every second (the floor set here).
      poller: pollerSettings,
    },
    outbound: guardedToFakes({ vendors: [vendor, other], names: ["sugar.test", "other.test"], receiver, connectionsPerOrigin: 8 }),
  });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await vendor?.close();
  await other?.close();
  await receiver?.close();
});

interface PolledOptions {
  /** event.poller.configuration, as sent. */
  watched: string;
  interval?: string;
  username?: string;
  authorization?: string;
}

function polledConfiguration(path: string, { watched, interval = "0.01", username = "sales" }: PolledOptions) {
  return {
    ...sugarcrmConfiguration(vendor),
    ...vendorEventsOf(receiver.url(path), []),
    ...polledEvery(interval),
    username,
    "event.poller.configuration": watched,
  };
}

async function polledInstance(path: string, options: PolledOptions): Promise<{ id: number; eventSigningSecret: string }> {
  const created = await t.api("/instances", {
    method: "POST",
    ...(options.authorization ? { headers: { Authorization: options.authorization } } : {}),
    json: { your_mom: { key: "sugarcrmv2" }, configuration: polledConfiguration(path, options), name: "polled" },
  });
  expect(created.status).toBe(200);
  return body(created);
}

const vendorEvents = (path: string, secret: string) => receivedVendorEvents(receiver, path, secret);

/** The requests for a module's records (to either vendor). */
const asked = (module: string, from: FakeVendor = vendor) =>
  from.requests.filter((request) => request.method === "GET" && moduleOf(request) === module);

/** Waits until the vendor was asked for `module`'s records `count` times more than now. */
async function polls(module: string, count = 1, seconds = 20): Promise<void> {
  const before = asked(module).length;
  await until(() => (asked(module).length >= before + count ? true : undefined), seconds);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A record changed now (created long before), as SugarCRM lists it. */
const changedNow = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  date_entered: sugarDate(Date.now() - 86_400_000),
  date_modified: sugarDate(Date.now()),
  ...extra,
});

const page = (list: unknown[], nextOffset = -1): FakeAnswer => ({ status: 200, body: { next_offset: nextOffset, records: list } });

describe("the poller, attacked through what a tenant configures", { timeout: 60_000 }, () => {
  it.each<[string, string]>([
    ["a path that climbs out of the module", '{"../oauth2/token": {}}'],
    ["a query smuggled in the name", '{"Users?x=1": {}}'],
    ["a fragment", '{"Contacts#x": {}}'],
    ["an encoded slash", '{"Con%2Ftacts": {}}'],
    ["encoded dots", '{"%2e%2e": {}}'],
    ["a slash", '{"Contacts/../Users": {}}'],
    ["a lookalike letter (Cyrillic а)", '{"Contаcts": {}}'],
    ["a name of 101 characters", JSON.stringify({ [`C${"x".repeat(100)}`]: {} })],
    ["21 modules", JSON.stringify(Object.fromEntries(Array.from({ length: 21 }, (_, n) => [`Module${n}`, {}])))],
    ["__proto__", '{"__proto__": {}}'],
    ["settings for a module", '{"Contacts": {"filter": "x"}}'],
    ["a list", '["Contacts"]'],
    ["a bare name", '"Contacts"'],
    ["text that is not JSON", "Contacts, Leads"],
  ])("refuses event.poller.configuration with %s (400, naming the entry)", async (_what, watched) => {
    const response = await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "sugarcrmv2" }, configuration: polledConfiguration("/refused", { watched }), name: "refused" },
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await body(response))).toContain("event.poller.configuration");
  });

  it("refuses the same names in an update, and leaves the instance as it was", async () => {
    const instance = await polledInstance("/update-refused", { watched: '{"UpdateRefused": {}}', interval: "15" });
    const response = await t.api(`/instances/${instance.id}`, {
      method: "PATCH",
      json: { configuration: { "event.poller.configuration": '{"../oauth2/token": {}}' } },
    });
    expect(response.status).toBe(400);
    const kept = await body<{ configuration: Record<string, string> }>(await t.api(`/instances/${instance.id}`));
    expect(kept.configuration["event.poller.configuration"]).toBe('{"UpdateRefused": {}}');
  });

  it.each<[string, string]>([
    ["bulk.query.field_name", "date_modified][$ne]=x&filter[1][id][$gte]="],
    ["bulk.query.operator", "$ne"],
    ["bulk.query.date_mask", "%s"],
    ["bulk.attribute.modified_time", "constructor"],
    ["pagination.max", "100000"],
    ["base.url", "https://other.test/rest/v10"],
  ])("refuses %s: the query and the fields read are the platform's, not the tenant's", async (entry, value) => {
    const configuration = { ...polledConfiguration("/platform", { watched: " " }), [entry]: value };
    const response = await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "sugarcrmv2" }, configuration, name: "platform entries" },
    });
    expect(response.status).toBe(400);
  });

  it.each(["-1", "1e3", "1E3", "NaN", "Infinity", "0x10", " 5", "5 ", "", "1.5e1", "9999999", "5.", ".5", "1,5"])(
    "refuses event.poller.refresh_interval %j (400)",
    async (interval) => {
      const response = await t.api("/instances", {
        method: "POST",
        json: {
          your_mom: { key: "sugarcrmv2" },
          configuration: polledConfiguration("/interval", { watched: " ", interval }),
          name: "interval",
        },
      });
      expect(response.status).toBe(400);
      expect(JSON.stringify(await body(response))).toContain("event.poller.refresh_interval");
    },
  );

  it("polls an instance that asks for every 0 minutes no more often than every POLLER_INTERVAL_FLOOR_MS", async () => {
    const askedAt: number[] = [];
    scripted.set("ZeroInterval", () => {
      askedAt.push(Date.now());
      return page([]);
    });
    try {
      await polledInstance("/zero", { watched: '{"ZeroInterval": {}}', interval: "0" });
      await until(() => (askedAt.length >= 4 ? true : undefined), 20);
      const gaps = askedAt.slice(1).map((at, n) => at - askedAt[n]!);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(floorMs);
    } finally {
      scripted.delete("ZeroInterval");
    }
  });

  it("still polls a module listed after one named like an inherited property (constructor, toString): fixed, they broke every poll", async () => {
    const instance = await polledInstance("/inherited", { watched: '{"constructor": {}, "toString": {}, "AfterInherited": {}}' });
    await polls("AfterInherited");
    await sleep(1_100);
    records.put("AfterInherited", changedNow("after-inherited"));
    const events = await until(() => {
      const got = vendorEvents("/inherited", instance.eventSigningSecret);
      return got.length > 0 ? got : undefined;
    }, 20);
    expect(events.map((e) => e.data.recordId)).toEqual(["after-inherited"]);
    expect(asked("constructor").length).toBeGreaterThan(0);
  });
});

describe("the poller, attacked through what the vendor answers", { timeout: 60_000 }, () => {
  it("is not blinded by a record dated in the year 9999: later changes still arrive (fixed: the checkpoint jumped past them)", async () => {
    const instance = await polledInstance("/future", { watched: '{"FutureDated": {}}' });
    records.put("FutureDated", { id: "far", date_entered: "9999-12-31T23:59:59+00:00", date_modified: "9999-12-31T23:59:59+00:00" });
    await polls("FutureDated", 2);
    await sleep(1_100);
    records.put("FutureDated", changedNow("later"));
    await until(() => (vendorEvents("/future", instance.eventSigningSecret).length > 0 ? true : undefined), 20);
    await polls("FutureDated");
    await sleep(300);
    expect(vendorEvents("/future", instance.eventSigningSecret).map((e) => e.data.recordId)).toEqual(["later"]);
  });

  it("sends a record repeated in a page once (fixed: once per copy), skips records without an id, and passes prototype-polluting keys through as data", async () => {
    const instance = await polledInstance("/repeated", { watched: '{"Repeated": {}}' });
    await polls("Repeated");
    await sleep(1_100);
    const hostile = JSON.parse(
      `{"id": "twice", "date_entered": "${sugarDate(Date.now() - 86_400_000)}", "date_modified": "${sugarDate(Date.now())}",` +
        ` "__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}`,
    ) as Record<string, unknown>;
    scripted.set("Repeated", () =>
      page([hostile, hostile, hostile, { date_modified: sugarDate(Date.now()) }, { id: "undated" }, null, "text", 42]),
    );
    try {
      await until(() => (vendorEvents("/repeated", instance.eventSigningSecret).length > 0 ? true : undefined), 20);
      await polls("Repeated", 2);
      await sleep(300);
    } finally {
      scripted.delete("Repeated");
    }
    const events = vendorEvents("/repeated", instance.eventSigningSecret);
    expect(events.map((e) => e.data.recordId)).toEqual(["twice"]);
    const record = events[0]!.data.record!;
    expect(Object.keys(record)).toEqual(["id", "date_entered", "date_modified", "__proto__", "constructor"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("asks a vendor whose pages never end at most POLLER_MAX_PAGES times a poll, and then waits its interval (fixed: it asked again at once, for ever)", async () => {
    const askedAt: number[] = [];
    // Every page the same, with a next page always promised: next_offset never advancing, or going back.
    scripted.set("EndlessPages", () => {
      askedAt.push(Date.now());
      return page([{ id: "old", date_modified: "2001-01-01T00:00:00+00:00" }], askedAt.length % 2 === 1 ? 1 : 0);
    });
    try {
      await polledInstance("/endless-pages", { watched: '{"EndlessPages": {}}' });
      await until(() => (askedAt.length > 2 * pollerSettings.maxPages ? true : undefined), 20);
      // A poll's pages follow each other at once; the next poll is its interval (the floor) later.
      let firstPoll = 1;
      while (firstPoll < askedAt.length && askedAt[firstPoll]! - askedAt[firstPoll - 1]! < floorMs) firstPoll++;
      expect(firstPoll).toBeLessThanOrEqual(pollerSettings.maxPages);
      expect(firstPoll).toBeLessThan(askedAt.length);
    } finally {
      scripted.delete("EndlessPages");
    }
  });

  it(`sends a record nested 10,000 levels deep without its fields, as one too large (fixed: its poll failed, every time)`, async () => {
    const instance = await polledInstance("/deep", { watched: '{"DeepRecord": {}}' });
    await polls("DeepRecord");
    await sleep(1_100);
    // Written as text: JSON.stringify cannot write it either.
    const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
    const at = sugarDate(Date.now());
    const entered = sugarDate(Date.now() - 86_400_000);
    scripted.set("DeepRecord", (_request, response) => {
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(
          `{"next_offset": -1, "records": [` +
            `{"id": "deep", "date_entered": "${entered}", "date_modified": "${at}", "deep": ${nested(10_000)}},` +
            `{"id": "shallow", "date_entered": "${entered}", "date_modified": "${at}", "nested": ${nested(maxRecordDepth - 1)}}]}`,
        );
    });
    const events = await until(() => {
      const got = vendorEvents("/deep", instance.eventSigningSecret);
      return got.length >= 2 ? got : undefined;
    }, 20);
    const byId = Object.fromEntries(events.map((e) => [e.data.recordId, e.data]));
    expect(byId.deep).toMatchObject({ record: null, recordTooLarge: true });
    expect(byId.shallow!.record).toMatchObject({ id: "shallow" });
    scripted.delete("DeepRecord");
  });

  it("stops asking a slow vendor for pages at half the poll's lease, so no other claim of it starts while it runs", async () => {
    // Polled every 6 seconds: the polls stand apart from the pages of one (2 s), the floor would not.
    await polledInstance("/slow-pages", { watched: '{"SlowPages": {}}', interval: "0.1" });
    const answeredAt: number[] = [];
    // Each page 2 seconds late (within the request's time), a next page always promised, nothing new.
    scripted.set(
      "SlowPages",
      () =>
        new Promise<FakeAnswer>((resolve) => {
          answeredAt.push(Date.now());
          setTimeout(() => resolve(page([{ id: "old", date_modified: "2001-01-01T00:00:00+00:00" }], 1)), 2_000);
        }),
    );
    try {
      await until(() => (answeredAt.length > 0 ? true : undefined), 20);
      // The poll's pages follow each other at once; the next poll is an interval (6 s) later.
      await until(() => (answeredAt.length >= 2 && Date.now() - answeredAt.at(-1)! > 3_500 ? true : undefined), 40);
      let pages = 1;
      while (pages < answeredAt.length && answeredAt[pages]! - answeredAt[pages - 1]! < 3_000) pages++;
      expect(pages).toBeLessThan(pollerSettings.maxPages);
      expect(answeredAt[pages - 1]! - answeredAt[0]!).toBeLessThan(pollerSettings.leaseMs / 2);
    } finally {
      scripted.delete("SlowPages");
    }
  });

  it.each<[string, VendorHandler]>([
    [
      `more than ${maxRecordsPerPage} records in one page`,
      () =>
        page(
          Array.from({ length: maxRecordsPerPage + 1 }, (_, n) => changedNow(`r${n}`)),
          -1,
        ),
    ],
    ["a body larger than POLLER_RESPONSE_MAX_BYTES", () => page([changedNow("big", { blob: "x".repeat(100 * 1024) })])],
    ["a body that never ends", endlessBody()],
    [
      "a body trickled a byte at a time (slow loris)",
      (_request, response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.write('{"next_offset": -1, "records": [');
        const drip = setInterval(() => (response.destroyed ? clearInterval(drip) : response.write(" ")), 200);
        response.on("close", () => clearInterval(drip));
      },
    ],
    ["an answer that is not JSON", (_request, response) => void response.writeHead(200, { "content-type": "text/html" }).end("<html>")],
    ["a redirect to another host, which the credentials never follow", redirectTo("https://other.test/rest/v10/Stolen")],
  ])("fails the poll, sends nothing and backs off, on %s", async (what, handler) => {
    const module = `Hostile${what.replace(/[^A-Za-z]/g, "").slice(0, 40)}`;
    const path = `/hostile/${module}`;
    const instance = await polledInstance(path, { watched: JSON.stringify({ [module]: {} }) });
    await polls(module);
    scripted.set(module, handler);
    try {
      const started = Date.now();
      await polls(module);
      await until(() => (t.logs.some((line) => line.instanceId === instance.id && line.failures === 1) ? true : undefined), 20);
      // Cut within the time a request has, the connection given back.
      expect(Date.now() - started).toBeLessThan(floorMs + vendorTimeoutMs + 2_000);
      await sleep(500);
      expect(vendorEvents(path, instance.eventSigningSecret)).toEqual([]);
      expect(other.requests.filter((request) => request.path.includes("Stolen"))).toEqual([]);
    } finally {
      scripted.delete(module);
    }
  });

  it("holds a Retry-After of 1e300 seconds to POLLER_BACKOFF_MAX_SECONDS (fixed: the instance was never polled again)", async () => {
    await polledInstance("/retry-after", { watched: '{"RetryForever": {}}' });
    await polls("RetryForever");
    let throttled = 0;
    scripted.set("RetryForever", () =>
      throttled++ === 0 ? { status: 429, body: { error: "slow down" }, headers: { "retry-after": "1e300" } } : page([]),
    );
    try {
      await polls("RetryForever");
      const throttledAt = Date.now();
      await polls("RetryForever", 1, 20);
      expect(Date.now() - throttledAt).toBeLessThan(pollerSettings.backoffMaxMs + 3_000);
    } finally {
      scripted.delete("RetryForever");
    }
  });

  it("stops polling an instance whose credentials SugarCRM refuses, and stores no secret the vendor echoed", async () => {
    const instance = await polledInstance("/refused-credentials", { watched: '{"Refused": {}}', username: "refused-user" });
    await polls("Refused");
    const tokens = sugar.issued.map((issued) => [issued.accessToken, issued.refreshToken]).flat();
    scripted.set("Refused", (request) => ({
      status: 401,
      body: { error: "invalid_grant", error_message: `The access token ${String(request.headers["oauth-token"])} is invalid.` },
    }));
    refusedUsers.add("refused-user");
    try {
      await until(async () => ((await body<{ valid: boolean }>(await t.api(`/instances/${instance.id}`))).valid ? undefined : true), 30);
      await sleep(1_000);
      const after = asked("Refused").length;
      await sleep(3 * floorMs); // three of its intervals
      expect(asked("Refused").length).toBe(after);
      const stored = [
        JSON.stringify(await body(await t.api(`/instances/${instance.id}`))),
        JSON.stringify(await body(await t.api(`/instances/${instance.id}/deliveries`))),
        ...receiver.received.filter((r) => r.path === "/refused-credentials").map((r) => r.body),
        t.rawLogs(),
      ].join("\n");
      for (const secret of [goodPassword, "secret-1234567", ...tokens]) expect(stored).not.toContain(secret);
      expect(receiver.received.some((r) => r.path === "/refused-credentials" && r.type === "instance.invalid")).toBe(true);
    } finally {
      scripted.delete("Refused");
      refusedUsers.delete("refused-user");
    }
  });
});

describe("the poller, attacked while a poll is under way", { timeout: 60_000 }, () => {
  /** Holds the next request for `module` until released; resolves once it arrived. */
  function holdNext(module: string) {
    let release: (answer: FakeAnswer) => void = () => undefined;
    const arrived = new Promise<void>((resolve) => {
      scripted.set(module, () => {
        scripted.delete(module);
        resolve();
        return new Promise<FakeAnswer>((answer) => (release = answer));
      });
    });
    return { arrived, release: (answer: FakeAnswer) => release(answer) };
  }

  it("sends no event of an instance deleted while its vendor answered", async () => {
    const instance = await polledInstance("/deleted", { watched: '{"DeletedMidPoll": {}}' });
    await polls("DeletedMidPoll");
    const held = holdNext("DeletedMidPoll");
    await held.arrived;
    expect((await t.api(`/instances/${instance.id}`, { method: "DELETE" })).status).toBe(204);
    held.release(page([changedNow("after-delete")]));
    await sleep(floorMs + 1_500); // its next poll, had it survived, and the delivery of what the page held
    expect(receiver.received.filter((r) => r.path === "/deleted" && r.type?.startsWith("vendor."))).toEqual([]);
    const lastAsked = asked("DeletedMidPoll").length;
    await sleep(2 * floorMs);
    expect(asked("DeletedMidPoll").length).toBe(lastAsked);
  });

  it("never sends one site's credentials to the other when site.url changes while a poll is under way", async () => {
    const instance = await polledInstance("/moved", { watched: '{"MovedMidPoll": {}}' });
    await polls("MovedMidPoll");
    const held = holdNext("MovedMidPoll");
    await held.arrived;
    const moved = await t.api(`/instances/${instance.id}`, {
      method: "PATCH",
      json: {
        configuration: {
          "site.url": `other.test:${other.port}`,
          "oauth.api.key": "key-other",
          "oauth.api.secret": "secret-other",
          password: goodPassword,
        },
      },
    });
    expect(moved.status).toBe(200);
    held.release(page([changedNow("from-the-old-site")]));
    await until(() => (asked("MovedMidPoll", other).length >= 2 ? true : undefined), 20);

    const firstSiteTokens = sugar.issued.map((issued) => issued.accessToken);
    const otherSiteTokens = sugarOther.issued.map((issued) => issued.accessToken);
    expect(otherSiteTokens.length).toBeGreaterThan(0);
    const sentTo = (site: FakeVendor) =>
      site.requests.map((request) => `${JSON.stringify(request.headers)} ${request.path} ${request.body}`);
    for (const sent of sentTo(other)) {
      for (const token of firstSiteTokens) expect(sent).not.toContain(token);
      expect(sent).not.toContain("secret-1234567");
    }
    for (const sent of sentTo(vendor)) {
      for (const token of otherSiteTokens) expect(sent).not.toContain(token);
      expect(sent).not.toContain("secret-other");
    }
    // The page read for the old version is not committed.
    expect(vendorEvents("/moved", instance.eventSigningSecret)).toEqual([]);
  });

  it("lets another organization's polls through while one organization's vendor hangs every poll", async () => {
    const hanging = Array.from({ length: 6 }, (_, n) => `Hanging${n}`);
    for (const module of hanging) scripted.set(module, () => new Promise<FakeAnswer>(() => undefined));
    try {
      for (const module of hanging) await polledInstance(`/hanging/${module}`, { watched: JSON.stringify({ [module]: {} }) });
      const otherOrganization = await t.newAccount("bystander");
      await until(() => (hanging.filter((module) => asked(module).length > 0).length >= 2 ? true : undefined), 20);
      const instance = await polledInstance("/bystander", { watched: '{"Bystander": {}}', authorization: otherOrganization.authorization });
      await polls("Bystander", 1, 10);
      await sleep(1_100);
      records.put("Bystander", changedNow("seen"));
      const started = Date.now();
      await until(() => (vendorEvents("/bystander", instance.eventSigningSecret).length > 0 ? true : undefined), 20);
      // Its interval and a page, not the hanging polls' timeouts one after another.
      expect(Date.now() - started).toBeLessThan(floorMs + vendorTimeoutMs);
    } finally {
      for (const module of hanging) scripted.delete(module);
    }
  });
});
