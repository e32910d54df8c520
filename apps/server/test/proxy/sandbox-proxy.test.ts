// The proxy in the sandbox (the default) and with PROVISIONING=off: nothing is ever sent. Every
// connector's guide request creates an instance; its proxied call answers what would have been
// sent, the credentials masked; QuickBooks Enterprise, which has no API to call, is refused.
import { readCreateExamples } from "@instances-api/spec-tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBundledSpec } from "../../src/spec.js";
import { body, startTestServer, type TestServer } from "../harness.js";

const examples = readCreateExamples(loadBundledSpec());

describe("the proxy in the sandbox", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.stop());

  for (const example of examples) {
    it(`${example.key}: answers what it would send, secrets masked`, async () => {
      const created = await t.api("/instances", { method: "POST", json: example.body });
      expect(created.status).toBe(200);
      const { id } = await body<{ id: number }>(created);
      const response = await t.api(`/instances/${id}/proxy/some/path?page=2`, {
        method: "POST",
        json: { hello: "vendor" },
        headers: { Accept: "application/json" },
      });
      const text = await response.text();
      if (example.key === "quickbooksonprem") {
        expect(response.status).toBe(422);
        expect(JSON.parse(text)).toMatchObject({ type: "urn:instances-api:problem:no-vendor-api" });
        return;
      }
      expect(response.status).toBe(200);
      expect(response.headers.get("x-simulated")).toBe("true");
      const answer = JSON.parse(text) as {
        simulated: boolean;
        request: { method: string; url: string; addedHeaders: Record<string, string> };
      };
      expect(answer.simulated).toBe(true);
      expect(answer.request.method).toBe("POST");
      expect(answer.request.url).toMatch(/^https:\/\/[^/]+\/.*some\/path\?page=2$/);
      for (const value of Object.values(answer.request.addedHeaders)) expect(value).toBe("********");
      for (const [entry, value] of Object.entries(example.body.configuration)) {
        if (value.length >= 6 && /secret|password|key|token/i.test(entry)) expect(text, entry).not.toContain(value);
      }
    });
  }

  it("refuses an unknown method with 405 and a missing instance with 404", async () => {
    expect((await t.api("/instances/424242/proxy/x")).status).toBe(404);
    const options = await t.api("/instances/1/proxy/x", { method: "OPTIONS" });
    expect(options.status).toBe(405);
    expect(options.headers.get("allow")).toBe("GET, HEAD, POST, PUT, PATCH, DELETE");
  });

  it("asks for credentials before anything else", async () => {
    const response = await t.api("/instances/1/proxy/x", { headers: { Authorization: "User nope, Organization nope" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBeTruthy();
  });
});

describe("the proxy with PROVISIONING=off", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ config: { provisioning: "off" } });
  });
  afterAll(() => t.stop());

  it("refuses every proxied call with 403 proxy-off", async () => {
    const freshservice = examples.find((e) => e.key === "freshservice")!;
    const { id } = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: freshservice.body }));
    const response = await t.api(`/instances/${id}/proxy/tickets`);
    expect(response.status).toBe(403);
    expect(await body(response)).toMatchObject({ type: "urn:instances-api:problem:proxy-off" });
  });
});
