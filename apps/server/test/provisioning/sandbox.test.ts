// The sandbox (PROVISIONING=sandbox, the default): every connector's declared check simulated,
// nothing sent. A secret entry `invalid-credentials` is refused (422), `vendor-unavailable` is
// unreachable (502), and in both cases nothing is stored. And PROVISIONING=off, which checks nothing.
import { readCreateExamples } from "@instances-api/spec-tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { loadBundledSpec } from "../../src/spec.js";
import { body, startTestServer, type TestServer } from "../harness.js";

interface Interaction {
  time: string;
  step: string;
  method: string;
  host: string;
  path: string;
  status: number | null;
  outcome: string;
  simulated: boolean;
  detail?: string;
}
interface Instance {
  id: number;
  valid: boolean;
  provisionInteractions: Interaction[];
  configuration: Record<string, string | null>;
}

const spec = loadBundledSpec();
const registry = new ConnectorRegistry(spec);
const examples = readCreateExamples(spec);
let t: TestServer;
// Checks on demand back to back: no shortest interval between them here (credentials-stay.test.ts pins it).
beforeAll(async () => (t = await startTestServer({ config: { verifyMinIntervalMs: 0 } })));
afterAll(() => t.stop());

// Where each connector's declared check goes, for the spec's example configuration.
const checkedAt: Record<string, (configuration: Record<string, string>) => { host: string; path: string }> = {
  freshservice: (c) => ({ host: `${c.subdomain}.freshservice.com`, path: "/api/v2/agents/me" }),
  infobip: () => ({ host: "api.infobip.com", path: "/account/1/balance" }),
  taxify: () => ({ host: "ws.taxify.co", path: "/taxify/1.0/core/JSONService.asmx/GetCodes" }),
  sugarcrmv2: (c) => ({ host: c["site.url"]!, path: "/rest/v10/oauth2/token" }),
};

const create = (json: unknown, headers: Record<string, string> = {}) => t.api("/instances", { method: "POST", json, headers });
const secretEntry = (key: string) => registry.require(key).entries.find((e) => e.secret)?.key;
const withEntry = (example: (typeof examples)[number], entry: string, value: string) => ({
  ...example.body,
  configuration: { ...example.body.configuration, [entry]: value },
});
async function countOf(key: string): Promise<number> {
  return (await body<Instance[]>(await t.api(`/instances?your_mom=${key}`))).length;
}

describe.each(examples.map((example) => [example.key, example] as const))("in the sandbox, %s", (key, example) => {
  const check = registry.require(key).credentialCheck;

  it("provisions the spec's example with a simulated check of the declared request", async () => {
    const response = await create(example.body);
    expect(response.status).toBe(200);
    const instance = await body<Instance>(response);
    expect(instance.valid).toBe(true);
    if (check.type === "none") {
      expect(instance.provisionInteractions).toEqual([]);
      return;
    }
    expect(instance.provisionInteractions).toEqual([
      expect.objectContaining({
        step: check.type === "request" ? "credential-check" : "token",
        method: check.type === "request" ? check.method : "POST",
        ...checkedAt[key]!(example.body.configuration),
        status: 200,
        outcome: "accepted",
        simulated: true,
      }),
    ]);
    // Where it went, never what it sent: no query string, no secret.
    const shown = JSON.stringify(instance.provisionInteractions);
    for (const [entry, value] of Object.entries(example.body.configuration)) {
      if (registry.require(key).secretKeys.has(entry)) expect(shown).not.toContain(value);
    }
  });

  it.skipIf(!secretEntry(key))(
    "refuses a secret entry `invalid-credentials` with a 422 naming the connector, and stores nothing",
    async () => {
      const before = await countOf(key);
      const response = await create(withEntry(example, secretEntry(key)!, "invalid-credentials"), { "Idempotency-Key": `refused-${key}` });
      expect(response.status).toBe(422);
      const problem = await body(response);
      expect(problem).toMatchObject({ type: "urn:instances-api:problem:credentials-refused", connector: key, vendorStatus: 401 });
      expect(problem.message).toContain(registry.require(key).catalog.name);
      expect(problem.message).toContain("refused the credentials");
      expect(await countOf(key)).toBe(before);
    },
  );

  it.skipIf(!secretEntry(key))("answers 502 for a secret entry `vendor-unavailable`, and stores nothing", async () => {
    const before = await countOf(key);
    const response = await create(withEntry(example, secretEntry(key)!, "vendor-unavailable"));
    expect(response.status).toBe(502);
    expect(await body(response)).toMatchObject({ type: "urn:instances-api:problem:vendor-unavailable", connector: key });
    expect(await countOf(key)).toBe(before);
  });

  it("checks again on demand with POST /instances/{id}/verify", async () => {
    const created = await body<Instance>(await create(example.body));
    const response = await t.api(`/instances/${created.id}/verify`, { method: "POST" });
    expect(response.status).toBe(200);
    const verified = await body<Instance>(response);
    expect(verified.valid).toBe(true);
    expect(verified.provisionInteractions).toHaveLength(check.type === "none" ? 0 : 2);
  });
});

describe("in the sandbox, SugarCRM's tokens", () => {
  const sugar = examples.find((e) => e.key === "sugarcrmv2")!;

  it("are issued at create: masked, their issue time shown, the guide's placeholders gone", async () => {
    const before = Date.now();
    const instance = await body<Instance>(await create(sugar.body));
    expect(instance.configuration["oauth.user.token"]).toBe("********");
    expect(instance.configuration["oauth.user.refresh_token"]).toBe("********");
    const issuedAt = Number(instance.configuration["oauth.user.refresh_time"]);
    expect(issuedAt).toBeGreaterThanOrEqual(before);
    expect(issuedAt).toBeLessThanOrEqual(Date.now());
    expect(instance.provisionInteractions[0]).toMatchObject({ host: sugar.body.configuration["site.url"], path: "/rest/v10/oauth2/token" });
  });

  it("are due for a refresh before the simulated hour is over, and never sit in the database in clear", async () => {
    const instance = await body<Instance>(await create(sugar.body));
    const record = await t.server.storage.instances.get(1, instance.id);
    const issuedAt = Number(instance.configuration["oauth.user.refresh_time"]);
    expect(record?.refreshDueAt).toBe(issuedAt + 3_600_000 - 300_000);
    expect(record?.provisioning).not.toMatch(/access_token|oauth\.user\.token/);
  });
});

describe("provisionInteractions", () => {
  it("keeps the last 20 steps, newest last", async () => {
    const fresh = examples.find((e) => e.key === "freshservice")!;
    const created = await body<Instance>(await create(fresh.body));
    let last: Instance | undefined;
    for (let i = 0; i < 22; i++) last = await body<Instance>(await t.api(`/instances/${created.id}/verify`, { method: "POST" }));
    expect(last?.provisionInteractions).toHaveLength(20);
    const times = last!.provisionInteractions.map((i) => i.time);
    expect(times).toEqual([...times].sort());
    expect(times[0]! > created.provisionInteractions[0]!.time).toBe(true); // the oldest went first
  });
});

describe("a change", () => {
  const fresh = examples.find((e) => e.key === "freshservice")!;

  it("to a credential checks again, and a refusal leaves the instance as it was", async () => {
    const created = await body<Instance>(await create(fresh.body));
    const refused = await t.api(`/instances/${created.id}`, {
      method: "PATCH",
      json: { configuration: { password: "invalid-credentials" } },
    });
    expect(refused.status).toBe(422);
    const after = await t.api(`/instances/${created.id}`);
    expect(after.headers.get("ETag")).toBe('"1"');
    expect((await body<Instance>(after)).provisionInteractions).toEqual(created.provisionInteractions);

    // Moving the subdomain moves where the secrets go: they are sent again with the move.
    const accepted = await t.api(`/instances/${created.id}`, {
      method: "PATCH",
      json: { configuration: { subdomain: "elsewhere", username: "agent@example.com", password: "an0ther-Passw0rd" } },
    });
    expect(accepted.status).toBe(200);
    const rechecked = await body<Instance>(accepted);
    expect(rechecked.provisionInteractions.map((i) => i.host)).toEqual([
      `${fresh.body.configuration.subdomain}.freshservice.com`,
      "elsewhere.freshservice.com",
    ]);
  });

  it("that touches no credential does not check again", async () => {
    const created = await body<Instance>(await create(fresh.body));
    const renamed = await body<Instance>(
      await t.api(`/instances/${created.id}`, { method: "PATCH", json: { name: "renamed", tags: ["x"] } }),
    );
    expect(renamed.provisionInteractions).toEqual(created.provisionInteractions);
    const replaced = await body<Instance>(
      await t.api(`/instances/${created.id}`, { method: "PUT", json: { ...fresh.body, name: "again" } }),
    );
    expect(replaced.provisionInteractions).toEqual(created.provisionInteractions);
  });

  it("by PUT to a refused credential gets 422 and changes nothing", async () => {
    const created = await body<Instance>(await create(fresh.body));
    const response = await t.api(`/instances/${created.id}`, {
      method: "PUT",
      json: { ...fresh.body, name: "should not stick", configuration: { ...fresh.body.configuration, password: "invalid-credentials" } },
    });
    expect(response.status).toBe(422);
    expect(await body(await t.api(`/instances/${created.id}`))).toMatchObject({ name: fresh.body.name, valid: true });
  });
});

describe("PROVISIONING=off", () => {
  it("checks nothing: even `invalid-credentials` makes a valid instance with no interactions", async () => {
    const off = await startTestServer({ config: { provisioning: "off" } });
    try {
      for (const example of examples) {
        const entry = secretEntry(example.key);
        const response = await off.api("/instances", {
          method: "POST",
          json: entry ? withEntry(example, entry, "invalid-credentials") : example.body,
        });
        expect(response.status, example.key).toBe(200);
        const instance = await body<Instance>(response);
        expect(instance).toMatchObject({ valid: true, provisionInteractions: [] });
        const verified = await off.api(`/instances/${instance.id}/verify`, { method: "POST" });
        expect(verified.status).toBe(200);
        expect(await body(verified)).toEqual(await body(await off.api(`/instances/${instance.id}`)));
      }
    } finally {
      await off.stop();
    }
  });
});
