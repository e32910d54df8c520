// A sixth connector added to a copy of the spec is served with no code change: the registry,
// the catalog, validation and defaults all come from the spec.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpecDocument } from "@instances-api/spec-tools";
import { loadBundledSpec } from "../../src/spec.js";
import { body, startTestServer, type TestServer } from "../harness.js";

function withSixthConnector(): SpecDocument {
  const spec = loadBundledSpec();
  const schemas = spec.components.schemas;
  schemas.ZendeskInstanceRequest = {
    title: "ZendeskInstanceRequest",
    description: "Create a Zendesk instance.",
    type: "object",
    "x-connector": {
      catalog: {
        id: 999,
        name: "Zendesk",
        description: "Customer service software.",
        active: true,
        deleted: false,
        typeOauth: false,
        trialAccount: true,
      },
      platformConfiguration: { "base.url": "https://{zendesk.subdomain}.zendesk.com/api/v2", "platform.secret": "PLATFORM_SECRET" },
      platformSecrets: ["platform.secret"],
    },
    required: ["your_mom", "configuration", "name"],
    additionalProperties: false,
    properties: {
      your_mom: {
        type: "object",
        required: ["key"],
        additionalProperties: false,
        properties: { key: { type: "string", const: "zendesk" } },
      },
      configuration: {
        type: "object",
        required: ["zendesk.subdomain", "zendesk.api.token"],
        additionalProperties: false,
        properties: {
          "zendesk.subdomain": { type: "string", title: "Subdomain", description: "Your Zendesk subdomain.", minLength: 1 },
          "zendesk.api.token": {
            type: "string",
            title: "API token",
            description: "Secret.",
            writeOnly: true,
            format: "password",
            minLength: 1,
          },
          "zendesk.locale": { type: "string", title: "Locale", description: "Optional.", default: "en-US" },
        },
      },
      tags: { $ref: "#/components/schemas/Tags" },
      name: { $ref: "#/components/schemas/InstanceName" },
    },
  };
  (schemas.CreateInstanceRequest as { oneOf: unknown[] }).oneOf.push({ $ref: "#/components/schemas/ZendeskInstanceRequest" });
  return spec;
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ spec: withSixthConnector() });
});
afterAll(() => t.stop());

describe("a sixth connector in the spec", () => {
  it("is in the catalog", async () => {
    const keys = (await body<{ key: string }[]>(await t.api("/your_moms"))).map((c) => c.key);
    expect(keys).toContain("zendesk");
    expect(await body(await t.api("/your_moms/zendesk"))).toMatchObject({ id: 999, name: "Zendesk", key: "zendesk" });
  });

  it("creates instances with its platform entries, defaults and masked secrets", async () => {
    const response = await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "zendesk" }, configuration: { "zendesk.subdomain": "acme", "zendesk.api.token": "tok" }, name: "Support" },
    });
    expect(response.status).toBe(200);
    expect((await body(response)).configuration).toEqual({
      "base.url": "https://{zendesk.subdomain}.zendesk.com/api/v2",
      "platform.secret": "********",
      "zendesk.subdomain": "acme",
      "zendesk.api.token": "********",
      "zendesk.locale": "en-US",
    });
  });

  it("names its missing entries", async () => {
    const response = await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "zendesk" }, configuration: {}, name: "Support" },
    });
    expect(response.status).toBe(400);
    expect((await body(response)).message).toBe("zendesk is missing required configuration entries: zendesk.subdomain, zendesk.api.token");
  });
});
