// Two replicas on one PostgreSQL database, each with its refresher: every due refresh is run by
// exactly one of them (claimed with FOR UPDATE SKIP LOCKED and a lease), even when both look at
// the same moment; and a replica that stops gives its claims back at once rather than when
// their leases end.
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import pg from "pg";
import { defaultVendorTiming } from "../../src/config.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRefresher } from "../../src/instances/refresher.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { fakeSugarcrm, goodPassword, startFakeVendor, type FakeVendor } from "../../test-support/fake-vendor.js";
import { loopbackSender } from "../outbound/outbound-fakes.js";

let cluster: PostgresCluster;
let vendor: FakeVendor;
let a: TestServer;
let b: TestServer;
let db: pg.Pool;
const fake = fakeSugarcrm({ expiresIn: 3600 });

beforeAll(async () => {
  cluster = await startPostgresCluster();
  // Each refresh grant takes a while, so that the two replicas' rounds overlap.
  vendor = await startFakeVendor({
    tls: false,
    handle: async (request) => {
      if (request.body.includes('"refresh_token"')) await new Promise((resolve) => setTimeout(resolve, 200));
      return fake.answer(request);
    },
  });
  const encryptionKey = randomBytes(32);
  // The refreshers poll rarely: the test runs their rounds itself, at the same moment.
  const options = {
    storage: { kind: "postgres" as const, url: cluster.url },
    config: {
      provisioning: "live" as const,
      encryptionKey,
      vendor: { ...defaultVendorTiming, refreshPollMs: 3_600_000, refreshLeaseMs: 30_000 },
    },
    provisioning: { outbound: loopbackSender(() => vendor.port) },
  };
  a = await startTestServer(options);
  b = await startTestServer({ ...options, authorization: a.authorization });
  db = new pg.Pool({ connectionString: cluster.url, max: 2 });
}, 120_000);
afterAll(async () => {
  await db?.end();
  await a?.stop();
  await b?.stop();
  await vendor?.close();
  cluster?.stop();
});

const sugar = (name: string) => ({
  your_mom: { key: "sugarcrmv2" },
  configuration: { "oauth.api.key": "k", "oauth.api.secret": "s", "site.url": "crm.example.com", username: "u", password: goodPassword },
  name,
});

async function makeDue(ids: number[]): Promise<void> {
  await db.query("UPDATE instances SET refresh_due_at = $1 WHERE id = ANY($2::bigint[])", [Date.now() - 1, ids]);
}

describe("two replicas racing for the same refreshes", () => {
  it("refresh each due instance exactly once", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 6; i++)
      ids.push((await body<{ id: number }>(await a.api("/instances", { method: "POST", json: sugar(`crm ${i}`) }))).id);
    await makeDue(ids);
    const grantsBefore = vendor.requests.filter((r) => r.body.includes('"refresh_token"')).length;

    const [byA, byB] = await Promise.all([a.server.refresher.runDue(), b.server.refresher.runDue()]);
    const [againA, againB] = await Promise.all([a.server.refresher.runDue(), b.server.refresher.runDue()]);

    const grants = vendor.requests.filter((r) => r.body.includes('"refresh_token"')).slice(grantsBefore);
    expect(grants).toHaveLength(ids.length);
    const refreshTokens = grants.map((r) => (JSON.parse(r.body) as { refresh_token: string }).refresh_token);
    expect(new Set(refreshTokens).size).toBe(ids.length); // each instance's own token, once
    expect(byA + byB).toBe(ids.length);
    expect(againA + againB).toBe(0); // refreshed: not due again for most of an hour
    for (const id of ids) {
      const instance = await body<{ valid: boolean; provisionInteractions: { step: string }[] }>(await b.api(`/instances/${id}`));
      expect(instance.valid).toBe(true);
      expect(instance.provisionInteractions.filter((i) => i.step === "refresh")).toHaveLength(1);
    }
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM instances WHERE refresh_claimed_by IS NOT NULL");
    expect(rows[0]!.n).toBe(0);
  });
});

describe("a replica that stops", () => {
  it("releases its claims at once, so another replica takes them without waiting for the lease", async () => {
    const { id } = await body<{ id: number }>(await a.api("/instances", { method: "POST", json: sugar("claimed") }));
    await makeDue([id]);
    const failing = startRefresher({
      store: a.server.storage.refreshes,
      refresh: () => Promise.reject(new Error("this replica fails mid-refresh")),
      logger: a.server.logger,
      tickMs: 3_600_000,
      leaseMs: 600_000,
      concurrency: 8,
      perOrganization: 8,
    });
    expect(await failing.runDue()).toBe(1);
    // Claimed for ten minutes: the other replica finds nothing due.
    expect(await b.server.refresher.runDue()).toBe(0);

    await failing.stop();
    const { rows } = await db.query<{ refresh_claimed_by: string | null }>("SELECT refresh_claimed_by FROM instances WHERE id = $1", [id]);
    expect(rows[0]!.refresh_claimed_by).toBeNull();
    expect(await b.server.refresher.runDue()).toBe(1);
  });
});
