// Issue 22's attacks on stored credentials, each refused or harmless, through the real outbound
// guard over TLS: the vendor is a fake on 127.0.0.1 reached as `sugar.test:<port>`, and a second
// fake stands for the attacker's host, `attacker.test:<port>` (an injected resolver answers
// 127.0.0.1 for both; nothing leaves this machine). Both record every secret they receive.
import Database from "better-sqlite3";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defaultVendorTiming } from "../../src/config.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";
import { answerJson, startFakeVendor, type FakeVendor, type VendorHandler } from "../../test-support/fake-vendor.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { sendingNothingAway } from "../outbound/outbound-fakes.js";

const secrets = { "oauth.api.key": "canary-KEY-4d1f", "oauth.api.secret": "canary-SECRET-91ab", password: "canary-PASS/w@rd 7f" };
const attackerSecrets = { "oauth.api.key": "mine-key", "oauth.api.secret": "mine-secret", password: "mine-password" };

/** SugarCRM's token endpoint: canary tokens for the right password, its refusal otherwise. */
const sugarToken: VendorHandler = (request, response) => {
  const grant = JSON.parse(request.body || "{}") as Record<string, string>;
  const right = grant.password === secrets.password || grant.password === attackerSecrets.password;
  const answer = right
    ? answerJson(200, { access_token: "canary-ACCESS-55c2", refresh_token: "canary-REFRESH-0b7e", expires_in: 3600 })
    : answerJson(401, { error: "need_login", error_message: "You must specify a valid username and password." });
  answer(request, response);
};

let vendor: FakeVendor;
let attacker: FakeVendor;
let t: TestServer;
const sugarHost = () => `sugar.test:${vendor.port}`;
const attackerHost = () => `attacker.test:${attacker.port}`;

beforeAll(async () => {
  vendor = await startFakeVendor({ names: ["sugar.test"] });
  attacker = await startFakeVendor({ names: ["attacker.test"] });
  for (const fake of [vendor, attacker]) fake.on("POST /rest/v10/oauth2/token", sugarToken);
  const send = guardedSender({
    allowedHosts: [vendor.host, attacker.host],
    ca: [vendor.caPem, attacker.caPem],
    lookup: (hostname) => Promise.resolve(["sugar.test", "attacker.test"].includes(hostname) ? [{ address: "127.0.0.1", family: 4 }] : []),
  });
  t = await startTestServer({
    config: { provisioning: "live", verifyMinIntervalMs: 1_000, vendor: { ...defaultVendorTiming, timeoutMs: 2_000 } },
    outbound: { ...sendingNothingAway(), send },
  });
});
afterAll(async () => {
  await t.stop();
  await vendor.close();
  await attacker.close();
});
afterEach(() => {
  vendor.requests.length = 0;
  attacker.requests.length = 0;
  vendor.on("POST /rest/v10/oauth2/token", sugarToken);
});

interface Instance {
  id: number;
  valid: boolean;
  provisionInteractions: { step: string; host: string; path: string; outcome: string; detail?: string }[];
}

const sugar = (siteUrl: string, configuration: Record<string, string> = {}) => ({
  your_mom: { key: "sugarcrmv2" },
  configuration: { ...secrets, "site.url": siteUrl, username: "sales", ...configuration },
  name: "CRM",
});

async function created(json: unknown = sugar(sugarHost())): Promise<Instance> {
  const response = await t.api("/instances", { method: "POST", json });
  expect(response.status, await response.clone().text()).toBe(200);
  return body<Instance>(response);
}

const patch = (id: number, configuration: Record<string, string | null>) =>
  t.api(`/instances/${id}`, { method: "PATCH", json: { configuration } });

/** Every secret value a fake received, in any of its requests. */
const received = (fake: FakeVendor) => fake.requests.map((r) => `${r.path} ${JSON.stringify(r.headers)} ${r.body}`).join("\n");

describe("a stored secret goes only to the origin it was accepted at", () => {
  it("refuses a change of site.url alone, naming the secrets to send again; the new host receives nothing (fixed: it got them all)", async () => {
    const { id } = await created();
    const response = await patch(id, { "site.url": attackerHost() });
    expect(response.status).toBe(400);
    expect(await body(response)).toMatchObject({
      type: "urn:instances-api:problem:credentials-required",
      missingEntries: ["oauth.api.key", "oauth.api.secret", "password"],
    });
    expect(attacker.requests).toHaveLength(0);
    // Sending one secret of three is not enough either.
    expect((await patch(id, { "site.url": attackerHost(), password: attackerSecrets.password })).status).toBe(400);
    expect(attacker.requests).toHaveLength(0);
  });

  it("moves the instance when the change sends every secret again: the new host receives those, never the stored ones", async () => {
    const { id } = await created();
    const response = await patch(id, { "site.url": attackerHost(), ...attackerSecrets });
    expect(response.status, await response.clone().text()).toBe(200);
    const seen = received(attacker);
    expect(seen).toContain(attackerSecrets.password);
    for (const value of Object.values(secrets)) expect(seen).not.toContain(value);
    // Later checks go to the new origin, the one now accepted.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await t.api(`/instances/${id}/verify`, { method: "POST" })).status).toBe(200);
    expect(vendor.requests).toHaveLength(1); // the create only
  });

  it("a change of username alone is refused too (fixed: it let a tenant try the stored password as anyone)", async () => {
    const { id } = await created();
    const response = await patch(id, { username: "someone-else" });
    expect(response.status).toBe(400);
    expect(await body(response)).toMatchObject({ missingEntries: ["oauth.api.key", "oauth.api.secret", "password"] });
    expect(vendor.requests).toHaveLength(1); // the create's
  });

  it("a PUT moves the instance with the secrets it carries, and a change that touches no credential needs no secret", async () => {
    const { id } = await created();
    expect((await patch(id, { "oauth.callback.url": "https://crm.example/callback" })).status).toBe(200);
    const replaced = await t.api(`/instances/${id}`, { method: "PUT", json: sugar(attackerHost(), attackerSecrets) });
    expect(replaced.status, await replaced.clone().text()).toBe(200);
    for (const value of Object.values(secrets)) expect(received(attacker)).not.toContain(value);
  });

  it("refuses, below every caller, to send stored secrets to an origin other than the accepted one (a row changed behind the API)", async () => {
    const { id } = await created();
    // As a row written before origins were enforced, or edited in the database, would be.
    const db = new Database(path.join(t.dataDir, "instances.sqlite"));
    try {
      const row = db.prepare("SELECT configuration FROM instances WHERE id = ?").get(id) as { configuration: string };
      const configuration = { ...(JSON.parse(row.configuration) as Record<string, string>), "site.url": attackerHost() };
      db.prepare("UPDATE instances SET configuration = ? WHERE id = ?").run(JSON.stringify(configuration), id);
    } finally {
      db.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const response = await t.api(`/instances/${id}/verify`, { method: "POST" });
    expect(response.status).toBe(200);
    const instance = await body<Instance>(response);
    expect(instance.valid).toBe(false);
    expect(instance.provisionInteractions.at(-1)).toMatchObject({ outcome: "address-not-allowed" });
    expect(instance.provisionInteractions.at(-1)?.detail).toMatch(/accepted at https:\/\/sugar\.test/);
    expect(attacker.requests).toHaveLength(0);
  });
});

describe("caller values are data, never templates", () => {
  it.each([
    ["secrets named in the path (fixed: they were expanded into provisionInteractions)", "example.com/{password}/{oauth.api.secret}"],
    ["a vendor token named in the path", "example.com/{oauth.user.token}"],
    ["a fragment behind a placeholder (fixed: it cut the token path off)", "evil.test#{username}"],
  ])("refuses %s with a 400 naming site.url, on create and on a change", async (_name, siteUrl) => {
    const response = await t.api("/instances", { method: "POST", json: sugar(siteUrl) });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("site.url");
    const { id } = await created();
    const changed = await patch(id, { "site.url": siteUrl, ...secrets });
    expect(changed.status).toBe(400);
    expect(await changed.text()).toContain("site.url");
  });

  it("records the template's path, not the path built from site.url", async () => {
    vendor.on("POST /custom/place/rest/v10/oauth2/token", sugarToken);
    const instance = await created(sugar(`${sugarHost()}/custom/place`));
    expect(instance.provisionInteractions.at(-1)).toMatchObject({ host: sugarHost(), path: "/rest/v10/oauth2/token" });
    expect(vendor.requests.at(-1)?.path).toBe("/custom/place/rest/v10/oauth2/token");
  });

  it("blots a URL-encoded echo of the password out of the 422 and the interactions (fixed: p%40ss%20w%2Frd leaked)", async () => {
    vendor.on("POST /rest/v10/oauth2/token", (request, response) => {
      const grant = JSON.parse(request.body) as Record<string, string>;
      answerJson(401, { error_message: `bad login for password=${encodeURIComponent(grant.password ?? "")}` })(request, response);
    });
    const response = await t.api("/instances", { method: "POST", json: sugar(sugarHost()) });
    expect(response.status).toBe(422);
    const text = await response.text();
    expect(text).toContain("********");
    expect(text).not.toContain(encodeURIComponent(secrets.password));
  });
});

describe("verify never multiplies vendor calls", () => {
  it("shares one vendor call among concurrent verifies, then answers 429 with Retry-After until the interval has passed", async () => {
    const { id } = await created();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    vendor.requests.length = 0;
    const answers = await Promise.all(Array.from({ length: 12 }, () => t.api(`/instances/${id}/verify`, { method: "POST" })));
    // Those that arrived while the call was in flight shared it (200); those after it, within the
    // interval, were told when to come back (429). None failed (fixed: concurrent ones got 500).
    const statuses = answers.map((a) => a.status);
    expect(statuses).toContain(200);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    for (const answer of answers.filter((a) => a.status === 429))
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(vendor.requests).toHaveLength(1);
    const again = await t.api(`/instances/${id}/verify`, { method: "POST" });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(vendor.requests).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await t.api(`/instances/${id}/verify`, { method: "POST" })).status).toBe(200);
    expect(vendor.requests).toHaveLength(2);
  });
});

describe("a change never multiplies vendor calls", () => {
  it("lets one credential change at a time reach the vendor; the others, and those within the interval, get 429 (fixed: 40 PATCHes made 20 calls at once)", async () => {
    const { id } = await created();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    vendor.requests.length = 0;
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => patch(id, { ...secrets, username: `sales-${n}` })));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(vendor.requests).toHaveLength(1);
    // Right after, a verify waits its turn too.
    expect((await t.api(`/instances/${id}/verify`, { method: "POST" })).status).toBe(429);
  });
});

describe("notifications need somewhere to go", () => {
  it("refuses event.notification.enabled without a callback URL on create, replace and a change that leaves it so", async () => {
    const on = { "event.notification.enabled": "true" };
    const create = await t.api("/instances", { method: "POST", json: sugar(sugarHost(), on) });
    expect(create.status).toBe(400);
    expect(await create.text()).toContain("event.notification.callback.url");
    const { id } = await created();
    const replace = await t.api(`/instances/${id}`, { method: "PUT", json: sugar(sugarHost(), on) });
    expect(replace.status).toBe(400);
    const change = await patch(id, on);
    expect(change.status).toBe(400);
    expect(await change.text()).toContain("event.notification.callback.url");
  });
});
