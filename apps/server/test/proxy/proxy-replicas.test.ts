// Two replicas on one PostgreSQL database proxying one SugarCRM instance while its token is
// refreshed: the fake vendor rotates both tokens on every grant and forgets the old access token
// at once (the harshest vendor), tokens last two seconds, and both replicas' refreshers run. Every
// proxied GET must still get the vendor's 200 (a call that meets a rotated token renews or picks up
// the other replica's renewal and is sent once more), and no refresh token is ever spent twice
// (the instance never turns invalid).
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultProxy, defaultVendorTiming } from "../../src/config.js";
import { answerJson, goodPassword, startFakeVendor, type FakeVendor } from "../../test-support/fake-vendor.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { guardedToFakes } from "../outbound/guarded-to-fakes.js";
import { sugarcrmConfiguration } from "../support/instance-configurations.js";

let cluster: PostgresCluster;
let vendor: FakeVendor;
let a: TestServer;
let b: TestServer;
let access = "";
const refreshTokens = new Set<string>();
let spentTwice = 0;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  vendor = await startFakeVendor({
    names: ["sugar.test"],
    handle: (request, response) => {
      const current = request.headers["oauth-token"] === access;
      answerJson(current ? 200 : 401, current ? { records: [] } : { error: "invalid_grant" })(request, response);
    },
  });
  vendor.on("POST /rest/v10/oauth2/token", (request, response) => {
    const grant = JSON.parse(request.body || "{}") as Record<string, string>;
    const ok = grant.grant_type === "password" ? grant.password === goodPassword : refreshTokens.delete(grant.refresh_token ?? "");
    if (!ok) {
      if (grant.grant_type === "refresh_token") spentTwice++;
      return answerJson(400, { error: "invalid_grant" })(request, response);
    }
    access = randomBytes(8).toString("hex"); // the old access token stops working at once
    const refresh = randomBytes(8).toString("hex");
    refreshTokens.clear();
    refreshTokens.add(refresh);
    answerJson(200, { access_token: access, refresh_token: refresh, expires_in: 2 })(request, response);
  });
  const options = {
    storage: { kind: "postgres" as const, url: cluster.url },
    config: {
      provisioning: "live" as const,
      encryptionKey: randomBytes(32),
      verifyMinIntervalMs: 0,
      // Waits long enough for a loaded machine: a call that meets a revoked token waits up to the
      // vendor's time for the other replica's renewal.
      vendor: { ...defaultVendorTiming, timeoutMs: 5_000, refreshPollMs: 100, refreshLeaseMs: 10_000 },
      proxy: { ...defaultProxy, timeoutMs: 8_000 },
    },
  };
  const outbound = () => guardedToFakes({ vendors: [vendor], names: ["sugar.test"] });
  a = await startTestServer({ ...options, outbound: outbound() });
  b = await startTestServer({ ...options, authorization: a.authorization, outbound: outbound() });
}, 120_000);
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await vendor?.close();
  cluster?.stop();
});

describe("two replicas proxying while the token is refreshed", () => {
  it("answer every call with the vendor's 200 and never spend a refresh token twice", async () => {
    const created = await a.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "sugarcrmv2" },
        configuration: sugarcrmConfiguration(vendor),
        name: "CRM",
      },
    });
    expect(created.status).toBe(200);
    const { id } = await body<{ id: number }>(created);
    const statuses: number[] = [];
    const until = Date.now() + 5_000; // more than two token lifetimes
    // And the vendor revokes the access token now and then, ahead of its expiry: calls meet a 401.
    const revoking = setInterval(() => (access = "revoked"), 700);
    await Promise.all(
      [a, b, a, b].map(async (replica) => {
        while (Date.now() < until) {
          const response = await replica.api(`/instances/${id}/proxy/Contacts`);
          await response.arrayBuffer();
          statuses.push(response.status);
        }
      }),
    );
    clearInterval(revoking);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(spentTwice).toBe(0);
    // The fault did happen: calls met a token rotated under them and were sent once more.
    const retried = await Promise.all(
      [a, b].map(
        async (replica) => (await body<{ calls: { retried: boolean }[] }>(await replica.api(`/instances/${id}/proxy-calls`))).calls,
      ),
    );
    const grants = vendor.requests.filter((r) => r.path === "/rest/v10/oauth2/token").length;
    expect(grants).toBeGreaterThanOrEqual(3); // the create's, then refreshes as the tokens ran out
    expect(
      vendor.requests.filter((r) => r.path !== "/rest/v10/oauth2/token" && r.headers["oauth-token"] !== undefined).length,
    ).toBeGreaterThan(statuses.length); // more vendor calls than answers: some were 401s answered by a retry
    void retried;
    const instance = await body<{ valid: boolean }>(await b.api(`/instances/${id}`));
    expect(instance.valid).toBe(true);
  });
});
