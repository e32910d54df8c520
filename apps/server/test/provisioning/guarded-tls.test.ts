// Live provisioning through the real outbound guard, over real TLS: the vendor is a fake on
// 127.0.0.1 with a throwaway CA (test-support/fake-vendor.ts), reached as `sugar.test:<port>`
// (an injected resolver answers 127.0.0.1; the address:port is in the allowed hosts, as
// OUTBOUND_ALLOWED_HOSTS would list it). Accepted and refused credentials, a vendor that hangs,
// and a loopback address that is not allowed: refused before any request is made.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultVendorTiming } from "../../src/config.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";
import { answerJson, goodPassword, hang, startFakeVendor, type FakeVendor, type VendorHandler } from "../../test-support/fake-vendor.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { sendingNothingAway } from "../outbound/outbound-fakes.js";
let vendor: FakeVendor;
let t: TestServer;
const resolved: string[] = [];

/** SugarCRM's token endpoint: tokens for the good password, SugarCRM's own refusal for any other. */
const sugarToken: VendorHandler = (request, response) => {
  const grant = JSON.parse(request.body || "{}") as Record<string, string>;
  const answer =
    grant.password === goodPassword
      ? answerJson(200, { access_token: "access-1", refresh_token: "refresh-1", expires_in: 3600, token_type: "bearer" })
      : answerJson(401, { error: "need_login", error_message: "You must specify a valid username and password." });
  answer(request, response);
};

beforeAll(async () => {
  vendor = await startFakeVendor({ names: ["sugar.test"] });
  vendor.on("POST /rest/v10/oauth2/token", sugarToken);
  const send = guardedSender({
    allowedHosts: [vendor.host],
    ca: vendor.caPem,
    // Only names of this test resolve, and only to loopback: nothing can leave the machine.
    lookup: (hostname) => {
      resolved.push(hostname);
      return Promise.resolve(hostname === "sugar.test" ? [{ address: "127.0.0.1", family: 4 }] : []);
    },
  });
  t = await startTestServer({
    config: { provisioning: "live", vendor: { ...defaultVendorTiming, timeoutMs: 1_500 } },
    outbound: { ...sendingNothingAway(), send },
  });
});
afterAll(async () => {
  await t.stop();
  await vendor.close();
});

const sugar = (siteUrl: string, password = goodPassword) => ({
  your_mom: { key: "sugarcrmv2" },
  configuration: {
    "oauth.api.key": "consumer-key",
    "oauth.api.secret": "consumer-s3cret",
    "site.url": siteUrl,
    username: "sales",
    password,
  },
  name: "CRM over TLS",
});
const create = (json: unknown) => t.api("/instances", { method: "POST", json });

describe("live provisioning through the guarded sender, over TLS", () => {
  it("obtains SugarCRM's tokens from a vendor whose certificate the given CA signed", async () => {
    const response = await create(sugar(`sugar.test:${vendor.port}`));
    expect(response.status, await response.clone().text()).toBe(200);
    const instance = await body<{ valid: boolean; provisionInteractions: { host: string; outcome: string; simulated: boolean }[] }>(
      response,
    );
    expect(instance.valid).toBe(true);
    expect(instance.provisionInteractions.at(-1)).toMatchObject({
      host: `sugar.test:${vendor.port}`,
      outcome: "accepted",
      simulated: false,
    });
    expect(vendor.requests.at(-1)).toMatchObject({ method: "POST", path: "/rest/v10/oauth2/token" });
    expect(resolved).toContain("sugar.test");
  });

  it("answers the vendor's refusal with a 422 and stores nothing", async () => {
    const response = await create(sugar(`sugar.test:${vendor.port}`, "wr0ng-Passw0rd"));
    expect(response.status).toBe(422);
    expect(await body(response)).toMatchObject({ connector: "sugarcrmv2", vendorStatus: 401 });
  });

  it("gives up on a vendor that hangs with a 504", async () => {
    vendor.on("POST /rest/v10/oauth2/token", hang());
    try {
      const response = await create(sugar(`sugar.test:${vendor.port}`));
      expect(response.status).toBe(504);
    } finally {
      vendor.on("POST /rest/v10/oauth2/token", sugarToken);
    }
  });

  it("refuses a loopback address that is not allowed with a 400, sending nothing", async () => {
    const before = vendor.requests.length;
    const response = await create(sugar(`127.0.0.2:${vendor.port}`));
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/not allowed/);
    expect(vendor.requests.length).toBe(before);
  });
});
