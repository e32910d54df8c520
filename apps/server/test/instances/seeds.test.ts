// The five guides' requests, read from ../shared/seeds at test time, sent verbatim: the guide's
// path, its Authorization header form, its body with only the placeholders filled in.
import { fillAuthorization, fillPlaceholders, guidesIfPresent, type JsonObject } from "@instances-api/seeds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { loadBundledSpec } from "../../src/spec.js";
import { body, startTestServer, type TestServer } from "../harness.js";

// Skipped, with one line that says why, in a clone with no guides beside it (CI requires them).
const guides = guidesIfPresent();
const seeds = guides ?? [];
let t: TestServer;
const registry = new ConnectorRegistry(loadBundledSpec());

describe.skipIf(!guides)("against the Create Instance guides", () => {
  it("reads the five guides", () => {
    expect(seeds).toHaveLength(5);
  });

  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.stop());

  describe.each(seeds.map((seed) => [seed.heading, seed] as const))("%s's guide", (_heading, seed) => {
    it("creates an instance with the guide's request, verbatim", async () => {
      const account = await t.newAccount(`seed ${seed.connectorKey}`);
      const request = fillPlaceholders(seed.request);
      const response = await fetch(new URL(seed.requestPath, t.server.url), {
        method: "POST",
        headers: { Authorization: fillAuthorization(seed.authorization, account), "Content-Type": "application/json" },
        body: JSON.stringify(request),
      });
      expect(response.status).toBe(200);
      const created = await body(response);

      const guide = seed.response;
      // The guide's shape: every field its response shows is there, with the same type.
      for (const [field, value] of Object.entries(guide)) {
        expect(created, field).toHaveProperty(field);
        expect(typeof created[field], field).toBe(typeof value);
      }
      expect(created.name).toBe(request.name);
      expect(created.tags).toEqual(request.tags);
      expect(created.token).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(created.your_mom).toMatchObject({ key: seed.connectorKey, id: seed.connectorId });

      // configuration: the guide's platform entries overlaid with what was sent, secrets masked.
      const configuration = created.configuration as Record<string, string | null>;
      const sent = request.configuration as JsonObject;
      const guideConfiguration = (guide.configuration ?? {}) as JsonObject;
      for (const key of Object.keys(guideConfiguration)) expect(configuration, key).toHaveProperty(key);
      for (const [key, value] of Object.entries(sent)) {
        expect(configuration[key], key).toBe(registry.require(seed.connectorKey).secretKeys.has(key) ? "********" : value);
      }
    });
  });
});
