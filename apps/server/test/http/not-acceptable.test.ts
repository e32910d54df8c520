// The API answers only in JSON: a request that accepts neither application/json nor
// application/problem+json gets the spec's 406 Problem, and nothing is done; any Accept that
// allows JSON (or none) is served.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
let id: number;
beforeAll(async () => {
  t = await startTestServer();
  id = (await body<{ id: number }>(await t.api("/instances", { method: "POST", json: freshservice() }))).id;
});
afterAll(() => t.stop());

function freshservice() {
  return {
    your_mom: { key: "freshservice" },
    configuration: { username: "u", password: "p", subdomain: "acme" },
    tags: ["accept"],
    name: "n",
  };
}

const operations: [name: string, method: string, path: string, json?: unknown][] = [
  ["listInstances", "GET", "/instances"],
  ["createInstance", "POST", "/instances", freshservice()],
  ["getInstance", "GET", "/instances/{id}"],
  ["updateInstance", "PATCH", "/instances/{id}", { name: "changed" }],
  ["replaceInstance", "PUT", "/instances/{id}", freshservice()],
  ["deleteInstance", "DELETE", "/instances/{id}"],
  ["rotateInstanceToken", "POST", "/instances/{id}/token"],
  ["listConnectors", "GET", "/your_moms"],
  ["getConnector", "GET", "/your_moms/freshservice"],
];

describe("Accept", () => {
  const refused = ["text/html", "text/html, application/xhtml+xml", "application/xml", "application/json;q=0, text/html", "image/*"];
  const cases = refused.flatMap((accept) =>
    operations.map(([name, method, path, json]) => [`${name} with Accept: ${accept}`, accept, method, path, json] as const),
  );
  it.each(cases)("%s gets a 406 Problem and changes nothing", async (_name, accept, method, path, json) => {
    const response = await t.api(path.replace("{id}", String(id)), { method, headers: { Accept: accept }, ...(json ? { json } : {}) });
    expect(response.status).toBe(406);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
    expect(await body(response)).toMatchObject({ status: 406, type: "urn:instances-api:problem:not-acceptable" });
    const after = await t.api(`/instances/${id}`);
    expect(after.headers.get("ETag")).toBe('"1"');
    expect(await body<unknown[]>(await t.api("/instances?tags=accept"))).toHaveLength(1);
  });

  it.each([
    ["*/*"],
    ["application/json"],
    ["application/*"],
    ["application/problem+json"],
    ["text/html;q=0.9, application/json;q=0.1"],
    ["text/html, */*;q=0.1"],
  ])("%s is served", async (accept) => {
    const response = await t.api(`/instances/${id}`, { headers: { Accept: accept } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  });

  it("text/html is what the docs answer, not the API", async () => {
    const response = await fetch(`${t.server.url}/docs/`, { headers: { Accept: "text/html" } });
    expect(response.status).toBe(200);
  });
});
