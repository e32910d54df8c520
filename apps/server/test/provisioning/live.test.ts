// PROVISIONING=live against fake vendors on 127.0.0.1 (reached through the test's loopback
// sender): accepted and refused credentials, a vendor down then back (an Idempotency-Key retry
// checks again), a vendor that hangs (504, nothing stored), an address the sender refuses, and
// SugarCRM's tokens: issued, refreshed before they expire, and a refused refresh.
import { defaultVendorTiming } from "../../src/config.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";
import { until } from "../support/until.js";
import {
  fakeSugarcrm,
  freshserviceAnswer,
  goodPassword,
  goodTaxifyKey,
  startFakeVendor,
  taxifyAnswer,
  type FakeVendor,
} from "../../test-support/fake-vendor.js";
import { loopbackSender } from "../outbound/outbound-fakes.js";

interface Instance {
  id: number;
  valid: boolean;
  provisionInteractions: {
    step: string;
    host: string;
    path: string;
    status: number | null;
    outcome: string;
    simulated: boolean;
    detail?: string;
  }[];
  configuration: Record<string, string | null>;
}

let vendor: FakeVendor;
let t: TestServer;
beforeAll(async () => {
  vendor = await startFakeVendor({ tls: false, handle: freshserviceAnswer });
  t = await startTestServer({
    // Checks on demand back to back: no shortest interval between them here (credentials-stay.test.ts pins it).
    config: {
      provisioning: "live",
      verifyMinIntervalMs: 0,
      vendor: { ...defaultVendorTiming, timeoutMs: 500, refreshPollMs: 50, refreshLeaseMs: 5_000, refreshRetryMs: 300 },
    },
    provisioning: { outbound: loopbackSender(() => vendor.port) },
  });
});
afterAll(async () => {
  await t.stop();
  await vendor.close();
});
afterEach(() => {
  vendor.handle = freshserviceAnswer;
  vendor.requests.length = 0;
});

const freshservice = (password: string, subdomain = "acme") => ({
  your_mom: { key: "freshservice" },
  configuration: { username: "agent@example.com", password, subdomain },
  name: "Help desk",
});
const create = (json: unknown, headers: Record<string, string> = {}) => t.api("/instances", { method: "POST", json, headers });
const count = async () => (await body<Instance[]>(await t.api("/instances?your_mom=freshservice"))).length;

describe("live, Freshservice", () => {
  it("creates an instance whose credentials the vendor accepts, after one real request", async () => {
    const response = await create(freshservice(goodPassword));
    expect(response.status).toBe(200);
    const instance = await body<Instance>(response);
    expect(instance.valid).toBe(true);
    expect(instance.provisionInteractions).toEqual([
      expect.objectContaining({
        step: "credential-check",
        method: "GET",
        host: "acme.freshservice.com",
        path: "/api/v2/agents/me",
        status: 200,
        outcome: "accepted",
        simulated: false,
      }),
    ]);
    expect(vendor.requests).toHaveLength(1);
    expect(vendor.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from(`agent@example.com:${goodPassword}`).toString("base64")}`);
  });

  it("refuses what the vendor refuses with a 422 that repeats the vendor, not the secret, and stores nothing", async () => {
    const before = await count();
    const response = await create(freshservice("wr0ng-Passw0rd"));
    expect(response.status).toBe(422);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({
      connector: "freshservice",
      vendorStatus: 401,
      message: "Freshservice Beta refused the credentials (HTTP 401): You are not authorized to perform this action.",
    });
    expect(text).not.toContain("wr0ng-Passw0rd");
    expect(await count()).toBe(before);
  });

  it("blots a secret out of what the vendor said", async () => {
    vendor.handle = () => ({ status: 401, body: { message: "password wr0ng-Passw0rd is not agent@example.com's" } });
    const text = await (await create(freshservice("wr0ng-Passw0rd"))).text();
    expect(text).not.toContain("wr0ng-Passw0rd");
    // The username is a secret too (it may be the API key).
    expect((JSON.parse(text) as { vendorMessage: string }).vendorMessage).toBe("password ******** is not ********'s");
  });

  it("answers 502 while the vendor fails, stores nothing, and the same Idempotency-Key checks again once it is back", async () => {
    const before = await count();
    vendor.handle = () => ({ status: 503, body: { message: "maintenance" } });
    const failed = await create(freshservice(goodPassword), { "Idempotency-Key": "retry-after-502" });
    expect(failed.status).toBe(502);
    expect(await body(failed)).toMatchObject({ type: "urn:instances-api:problem:vendor-unavailable", vendorStatus: 503 });
    expect(await count()).toBe(before);

    vendor.handle = freshserviceAnswer;
    const retried = await create(freshservice(goodPassword), { "Idempotency-Key": "retry-after-502" });
    expect(retried.status).toBe(200);
    expect(vendor.requests).toHaveLength(2);
    expect(await count()).toBe(before + 1);
  });

  it("answers 504 when the vendor hangs, within the vendor's timeout, and stores nothing", async () => {
    const before = await count();
    vendor.handle = () => undefined;
    const started = Date.now();
    const response = await create(freshservice(goodPassword));
    expect(response.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(10_000); // does not hang
    expect(await body(response)).toMatchObject({ type: "urn:instances-api:problem:vendor-timeout", connector: "freshservice" });
    expect(await count()).toBe(before);
  });

  it("answers 400 when the configuration names an address the sender may not reach", async () => {
    const response = await create({
      your_mom: { key: "sugarcrmv2" },
      configuration: { "oauth.api.key": "k", "oauth.api.secret": "s", "site.url": "127.0.0.2", username: "u", password: goodPassword },
      name: "Internal",
    });
    expect(response.status).toBe(400);
    expect(await body(response)).toMatchObject({ type: "urn:instances-api:problem:address-not-allowed", host: "127.0.0.2" });
    expect(vendor.requests).toHaveLength(0);
  });

  it("answers 400 for a value that would change the URL's host", async () => {
    const response = await create({
      your_mom: { key: "sugarcrmv2" },
      configuration: {
        "oauth.api.key": "k",
        "oauth.api.secret": "s",
        "site.url": "crm.example.com@127.0.0.1",
        username: "u",
        password: goodPassword,
      },
      name: "Smuggled",
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await body(response))).toContain("site.url");
    expect(vendor.requests).toHaveLength(0);
  });

  it("makes an instance invalid when a verify is refused, and says why", async () => {
    const created = await body<Instance>(await create(freshservice(goodPassword)));
    vendor.handle = () => ({ status: 403, body: { message: "Your account has been locked." } });
    const verified = await body<Instance>(await t.api(`/instances/${created.id}/verify`, { method: "POST" }));
    expect(verified.valid).toBe(false);
    expect(verified.provisionInteractions.at(-1)).toMatchObject({
      outcome: "refused",
      status: 403,
      detail: "Your account has been locked.",
    });
    vendor.handle = freshserviceAnswer;
    const again = await body<Instance>(await t.api(`/instances/${created.id}/verify`, { method: "POST" }));
    expect(again.valid).toBe(true);
  });
});

// Infobip wants each account's own base URL (spec/connectors/infobip.yaml).
describe("live, Infobip", () => {
  const infobip = (configuration: Record<string, string> = {}) => ({
    your_mom: { key: "infobip" },
    configuration: {
      "messaging.sms.infobip.sender": "+17777777777",
      "messaging.sms.infobip.username": "acme-sms",
      "messaging.sms.infobip.password": goodPassword,
      "messaging.sms.infobip.callback.url": "https://www.maycoolapp.com/auth",
      ...configuration,
    },
    name: "Text messages",
  });
  const balance = () => ({ status: 200, body: { balance: 1, currency: "EUR" } });

  it("checks at api.infobip.com by default, and at the account's own base URL when it is given", async () => {
    vendor.handle = balance;
    const plain = await body<Instance>(await create(infobip()));
    expect(plain.configuration["messaging.sms.infobip.base.url"]).toBe("api.infobip.com");
    expect(plain.provisionInteractions.at(-1)).toMatchObject({ host: "api.infobip.com", path: "/account/1/balance", outcome: "accepted" });
    const own = await body<Instance>(await create(infobip({ "messaging.sms.infobip.base.url": "x7k2p.api.infobip.com" })));
    expect(own.provisionInteractions.at(-1)).toMatchObject({ host: "x7k2p.api.infobip.com", outcome: "accepted" });
    expect(vendor.requests.map((r) => r.headers["x-original-host"])).toEqual(["api.infobip.com", "x7k2p.api.infobip.com"]);
  });

  it("takes only a host under infobip.com, so the credentials cannot be sent elsewhere", async () => {
    vendor.handle = balance;
    for (const value of [
      "attacker.example",
      "infobip.com.attacker.example",
      "https://x7k2p.api.infobip.com",
      "x7k2p.api.infobip.com/path",
      "a.b.c.infobip.com",
    ]) {
      const response = await create(infobip({ "messaging.sms.infobip.base.url": value }));
      expect(response.status, value).toBe(400);
    }
    expect(vendor.requests).toHaveLength(0);
  });

  it("asks for the password again before the credentials move to another base URL", async () => {
    vendor.handle = balance;
    const { id } = await body<Instance>(await create(infobip()));
    vendor.requests.length = 0;
    const moved = await t.api(`/instances/${id}`, {
      method: "PATCH",
      json: { configuration: { "messaging.sms.infobip.base.url": "x7k2p.api.infobip.com" } },
    });
    expect(moved.status).toBe(400);
    expect(await body(moved)).toMatchObject({
      type: "urn:instances-api:problem:credentials-required",
      missingEntries: ["messaging.sms.infobip.password"],
    });
    expect(vendor.requests).toHaveLength(0);
  });
});

// Taxify answers 200 whatever happened and says in the body whether it did (spec/connectors/taxify.yaml).
describe("live, Taxify", () => {
  const taxify = (key: string) => ({ your_mom: { key: "taxify" }, configuration: { "api.key": key }, name: "Sales tax" });

  it("sends the key under the operation's name and accepts only a body that says the call succeeded", async () => {
    vendor.handle = taxifyAnswer;
    const response = await create(taxify(goodTaxifyKey));
    expect(response.status).toBe(200);
    expect((await body<Instance>(response)).provisionInteractions.at(-1)).toMatchObject({
      step: "credential-check",
      method: "POST",
      host: "ws.taxify.co",
      path: "/taxify/1.0/core/JSONService.asmx/GetCodes",
      status: 200,
      outcome: "accepted",
    });
    expect(vendor.requests).toHaveLength(1);
    expect(JSON.parse(vendor.requests[0]!.body)).toEqual({ GetCodes: { Security: { Password: goodTaxifyKey }, CodeType: "Item" } });
  });

  it("refuses a key the vendor refuses inside a 200 with a 422 that repeats the vendor's message", async () => {
    vendor.handle = taxifyAnswer;
    const response = await create(taxify("wr0ng-taxify-key"));
    expect(response.status).toBe(422);
    const text = await response.text();
    expect(JSON.parse(text)).toMatchObject({ connector: "taxify", vendorStatus: 200, vendorMessage: "The API key is not valid." });
    expect(text).not.toContain("wr0ng-taxify-key");
  });

  it("answers 502, not a refusal, when a 200 does not say whether the key was accepted", async () => {
    for (const answer of [{ message: "maintenance page" }, "not json at all", { d: {} }]) {
      vendor.handle = () => ({ status: 200, body: answer });
      const response = await create(taxify(goodTaxifyKey));
      expect(response.status, JSON.stringify(answer)).toBe(502);
      expect(await body(response)).toMatchObject({ type: "urn:instances-api:problem:vendor-unavailable" });
    }
  });
});

describe("live, SugarCRM's tokens", () => {
  const sugar = (password = goodPassword) => ({
    your_mom: { key: "sugarcrmv2" },
    configuration: {
      "oauth.api.key": "consumer-key",
      "oauth.api.secret": "consumer-s3cret",
      "site.url": "crm.example.com",
      username: "sales",
      password,
    },
    name: "CRM",
  });

  it("come from the password grant, with SugarCRM's parameters, and are kept sealed and masked", async () => {
    const fake = fakeSugarcrm({ expiresIn: 3600 });
    vendor.handle = (request) => fake.answer(request);
    const instance = await body<Instance>(await create(sugar()));
    expect(instance.valid).toBe(true);
    expect(JSON.parse(vendor.requests[0]!.body)).toEqual({
      grant_type: "password",
      client_id: "consumer-key",
      client_secret: "consumer-s3cret",
      username: "sales",
      password: goodPassword,
      platform: "instances_api",
    });
    expect(vendor.requests[0]).toMatchObject({ method: "POST", host: "crm.example.com", path: "/rest/v10/oauth2/token" });
    expect(instance.configuration["oauth.user.token"]).toBe("********");
    const row = await t.server.storage.instances.get(1, instance.id);
    expect(row?.provisioning).not.toContain(fake.issued[0]!.accessToken);
    expect(row?.provisioning).not.toContain(fake.issued[0]!.refreshToken);
    expect(t.rawLogs()).not.toContain(fake.issued[0]!.refreshToken);
  });

  it("answer 502 when the grant's 200 holds no tokens, whatever JSON it is", async () => {
    for (const answer of ["null", "[]", '"token"', "{}", "not json"]) {
      vendor.handle = () => ({ status: 200, body: answer });
      const response = await create(sugar());
      expect(response.status, answer).toBe(502);
      expect(await body(response)).toMatchObject({ type: "urn:instances-api:problem:vendor-unavailable" });
    }
  });

  it("are refreshed before they expire, with the refresh token the vendor issued", async () => {
    const fake = fakeSugarcrm({ expiresIn: 2 });
    vendor.handle = (request) => fake.answer(request);
    const instance = await body<Instance>(await create(sugar()));
    const firstIssue = Number(instance.configuration["oauth.user.refresh_time"]);
    // Due before the token expires: its 2 s less a tenth.
    expect((await t.server.storage.instances.get(1, instance.id))?.refreshDueAt).toBe(firstIssue + 1_800);
    const refreshed = await until(async () => {
      const now = await body<Instance>(await t.api(`/instances/${instance.id}`));
      return now.provisionInteractions.some((i) => i.step === "refresh") ? now : undefined;
    });
    const grant = JSON.parse(vendor.requests.find((r) => r.body.includes("refresh_token"))!.body) as Record<string, string>;
    expect(grant).toMatchObject({ grant_type: "refresh_token", refresh_token: fake.issued[0]!.refreshToken, client_id: "consumer-key" });
    expect(Number(refreshed.configuration["oauth.user.refresh_time"])).toBeGreaterThanOrEqual(firstIssue + 1_800);
    expect(refreshed.valid).toBe(true);
    expect(refreshed.provisionInteractions.at(-1)).toMatchObject({ step: "refresh", outcome: "accepted", status: 200 });
    expect(t.rawLogs()).not.toContain(fake.issued[0]!.refreshToken);
    expect(t.rawLogs()).not.toContain(fake.issued.at(-1)!.accessToken);
  });

  it("are granted anew from the stored password when the vendor refuses a refresh, both steps recorded", async () => {
    const fake = fakeSugarcrm({ expiresIn: 2 });
    vendor.handle = (request) => fake.answer(request);
    const instance = await body<Instance>(await create(sugar()));
    fake.revokeAll(); // as a refresh whose answer was lost leaves a rotated token: consumed
    const regranted = await until(async () => {
      const now = await body<Instance>(await t.api(`/instances/${instance.id}`));
      return now.provisionInteractions.some((i) => i.step === "refresh") ? now : undefined;
    });
    expect(regranted.valid).toBe(true);
    expect(regranted.provisionInteractions.slice(1, 3)).toMatchObject([
      { step: "refresh", outcome: "refused", status: 400, detail: "Invalid refresh token" },
      { step: "token", outcome: "accepted", status: 200 },
    ]);
  });

  it("make the instance invalid when the vendor refuses a refresh and a new grant, which says why and is not retried", async () => {
    const fake = fakeSugarcrm({ expiresIn: 2 });
    let passwordChanged = false;
    vendor.handle = (request) =>
      passwordChanged && request.body.includes('"grant_type":"password"')
        ? { status: 401, body: { error: "need_login", error_message: "You must specify a valid username and password." } }
        : fake.answer(request);
    const instance = await body<Instance>(await create(sugar()));
    fake.revokeAll();
    passwordChanged = true;
    // Waits for the refused grant itself: under load the 2 s token can expire (and show invalid) before the
    // refresher has recorded its verdict.
    const invalid = await until(async () => {
      const now = await body<Instance>(await t.api(`/instances/${instance.id}`));
      return !now.valid && now.provisionInteractions.at(-1)?.step === "token" ? now : undefined;
    });
    expect(invalid.provisionInteractions.slice(-2)).toMatchObject([
      { step: "refresh", outcome: "refused", status: 400, detail: "Invalid refresh token" },
      { step: "token", outcome: "refused", status: 401 },
    ]);
    const row = await t.server.storage.instances.get(1, instance.id);
    expect(row?.refreshDueAt).toBeNull();
  });

  it("show the instance invalid once its token has expired, while the vendor cannot refresh it (fixed: it stayed valid)", async () => {
    const fake = fakeSugarcrm({ expiresIn: 1 });
    let down = false;
    vendor.handle = (request) => (down ? undefined : fake.answer(request));
    const instance = await body<Instance>(await create(sugar()));
    expect(instance.valid).toBe(true);
    down = true; // the refresh hangs: no answer, no verdict, only the clock
    const expired = await until(async () => {
      const now = await body<Instance>(await t.api(`/instances/${instance.id}`));
      return now.valid ? undefined : now;
    });
    expect(expired.provisionInteractions.at(-1)).toMatchObject({ step: "token", outcome: "accepted" });
    down = false;
  });

  it("make the instance invalid while the vendor fails a refresh, and valid again once a retry succeeds", async () => {
    const fake = fakeSugarcrm({ expiresIn: 2 });
    let failing = false;
    vendor.handle = (request) =>
      failing ? { status: 503, body: { error: "unavailable", error_message: "Down for maintenance" } } : fake.answer(request);
    const instance = await body<Instance>(await create(sugar()));
    failing = true;
    // Waits for the failed refresh itself, not only for invalid (which the token's expiry alone gives under load).
    const invalid = await until(async () => {
      const now = await body<Instance>(await t.api(`/instances/${instance.id}`));
      return !now.valid && now.provisionInteractions.at(-1)?.step === "refresh" ? now : undefined;
    });
    expect(invalid.provisionInteractions.at(-1)).toMatchObject({ step: "refresh", outcome: "vendor-error", status: 503 });
    // Not given up, as a refusal is: tried again after the retry delay (300 ms here, a minute by default).
    expect((await t.server.storage.instances.get(1, instance.id))?.refreshDueAt).not.toBeNull();
    const failedRefreshes = () => vendor.requests.filter((r) => r.body.includes("refresh_token")).length;
    await until(() => (failedRefreshes() >= 2 ? true : undefined));
    const recoveredAt = vendor.requests.length;
    failing = false;
    const valid = await until(async () => {
      const now = await body<Instance>(await t.api(`/instances/${instance.id}`));
      return now.valid ? now : undefined;
    });
    expect(valid.provisionInteractions.at(-1)).toMatchObject({ step: "refresh", outcome: "accepted", status: 200 });
    // The refresh that succeeded used the refresh token the vendor issued last, which the failures did
    // not use up: the first of this instance's after the vendor came back (with 2-second tokens, more
    // may follow it; the earlier tests' instances refresh beside it, with tokens this fake never issued).
    const ours = new Set(fake.issued.map((issued) => issued.refreshToken));
    const grant = vendor.requests
      .slice(recoveredAt)
      .filter((r) => r.body.includes("refresh_token"))
      .map((r) => JSON.parse(r.body) as Record<string, string>)
      .find((sent) => ours.has(sent.refresh_token!))!;
    expect(grant.refresh_token).toBe(fake.issued[0]!.refreshToken);
  });
});
