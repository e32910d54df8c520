// The server publishes the rendered docs at /docs, redirects / there, and serves the spec it
// runs as JSON and YAML with the right content types. What it refuses there is a Problem of the
// spec's catalog, like any other answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadBundledSpec } from "../../src/spec.js";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

describe("published docs", () => {
  it("redirects / to /docs/", async () => {
    const response = await fetch(`${t.server.url}/`, { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/docs/");
  });

  it("serves the rendered docs at /docs/, and /docs redirects there", async () => {
    const response = await fetch(`${t.server.url}/docs/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(await response.text()).toContain("Freshservice Beta");
    const bare = await fetch(`${t.server.url}/docs`, { redirect: "manual" });
    expect(bare.status).toBe(301);
    expect(bare.headers.get("Location")).toBe("/docs/");
  });

  it("serves the spec as JSON and as YAML", async () => {
    const json = await fetch(`${t.server.url}/openapi.json`);
    expect(json.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(await json.json()).toEqual(loadBundledSpec());
    const yaml = await fetch(`${t.server.url}/openapi.yaml`);
    expect(yaml.headers.get("Content-Type")).toMatch(/^application\/yaml/);
    expect(parseYaml(await yaml.text())).toEqual(loadBundledSpec());
  });

  it("answers a precondition that fails with a precondition-failed Problem, not labelled as the brotli copy (fixed bug: it was, and said invalid-request)", async () => {
    for (const precondition of [{ "If-Match": '"another"' }, { "If-Unmodified-Since": "Mon, 01 Jan 1990 00:00:00 GMT" }]) {
      const response = await fetch(`${t.server.url}/docs/`, { headers: { "Accept-Encoding": "br", ...precondition } });
      expect(response.status).toBe(412);
      expect(response.headers.get("Content-Encoding")).toBeNull();
      expect(await body(response)).toMatchObject({ status: 412, type: "urn:instances-api:problem:precondition-failed" });
    }
  });

  it("sends the whole page whatever the Range (a range past its end was a 416 with a type of another status)", async () => {
    const response = await fetch(`${t.server.url}/docs/`, { headers: { Range: "bytes=99999999-" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Accept-Ranges")).toBeNull();
    expect(await response.text()).toContain("Freshservice Beta");
  });

  it("needs no Authorization for them", async () => {
    for (const path of ["/docs/", "/openapi.json", "/healthz"]) expect((await fetch(`${t.server.url}${path}`)).status, path).toBe(200);
  });
});
