// Nothing derived from a secret is stored unsealed: after a SugarCRM instance is created with
// canary secrets, its vendor tokens refreshed and its credentials checked again (a vendor that
// echoes the password back in its refusal included), no file under DATA_DIR (the SQLite database,
// its WAL and shared memory) and no PostgreSQL table holds any canary in any encoding.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import pg from "pg";
import { defaultVendorTiming } from "../../src/config.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";
import { until } from "../support/until.js";
import { fakeSugarcrm, startFakeVendor, type FakeVendor } from "../../test-support/fake-vendor.js";
import { loopbackSender } from "../outbound/outbound-fakes.js";

const password = "g00d-Passw0rd";
const canaries = { "oauth.api.key": "canary-KEY-4d1f", "oauth.api.secret": "canary-SECRET-91ab", password };

/** Every form a secret could be stored in by mistake. */
const forms = (secret: string) => [
  secret,
  encodeURIComponent(secret),
  Buffer.from(secret).toString("base64").slice(0, -2),
  Buffer.from(secret).toString("hex"),
];

let cluster: PostgresCluster | undefined;
afterAll(() => cluster?.stop());

describe.each(["sqlite", "postgres"] as const)("secrets at rest on %s", (kind) => {
  let vendor: FakeVendor;
  let t: TestServer;
  const fake = fakeSugarcrm({ expiresIn: 1 });

  beforeAll(async () => {
    vendor = await startFakeVendor({ tls: false, handle: (request) => fake.answer(request) });
    if (kind === "postgres") cluster ??= await startPostgresCluster();
    t = await startTestServer({
      ...(kind === "postgres" && cluster ? { storage: { kind: "postgres" as const, url: cluster.url } } : {}),
      config: {
        provisioning: "live",
        verifyMinIntervalMs: 0,
        vendor: { ...defaultVendorTiming, refreshPollMs: 50, refreshLeaseMs: 5_000 },
      },
      provisioning: { outbound: loopbackSender(() => vendor.port) },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await vendor?.close();
  });

  async function storedText(): Promise<string> {
    if (kind === "sqlite") {
      return readdirSync(t.dataDir)
        .map((file) => readFileSync(path.join(t.dataDir, file)).toString("latin1"))
        .join("\n");
    }
    const db = new pg.Pool({ connectionString: cluster!.url, max: 1 });
    try {
      const { rows: tables } = await db.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      const dumps = await Promise.all(tables.map(({ name }) => db.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`)));
      return dumps.flatMap((dump) => dump.rows.map((r) => r.row)).join("\n");
    } finally {
      await db.end();
    }
  }

  it("holds no canary secret, caller's or vendor's, in any encoding", async () => {
    const response = await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "sugarcrmv2" }, configuration: { ...canaries, "site.url": "crm.example.com", username: "u" }, name: "CRM" },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const { id } = await body<{ id: number }>(response);
    // A refresh (the token lives a second), then a check the vendor refuses while echoing the password.
    await until(() => fake.issued.length >= 2 || undefined, 20);
    vendor.handle = () => ({ status: 401, body: { error_message: `bad password ${encodeURIComponent(password)} / ${password}` } });
    expect((await t.api(`/instances/${id}/verify`, { method: "POST" })).status).toBe(200);
    const stored = await storedText();
    const secrets = [...Object.values(canaries), ...fake.issued.flatMap((tokens) => [tokens.accessToken, tokens.refreshToken])];
    for (const secret of secrets) for (const form of forms(secret)) expect(stored, `${secret} as ${form}`).not.toContain(form);
    // The check was recorded: the scan looked at the rows that would hold a leak.
    expect(stored).toContain("/rest/v10/oauth2/token");
  }, 60_000);
});
