// HEAD works wherever GET does (RFC 9110 §9.3.2): the same status and headers, no body. The spec
// documents GET only; the validator is given a HEAD beside each GET, so it neither refuses HEAD
// (405) nor skips its security check.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
let id: number;
beforeAll(async () => {
  t = await startTestServer();
  for (let i = 0; i < 3; i++) {
    const created = await t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "freshservice" },
        configuration: { username: "u", password: "p", subdomain: "acme" },
        tags: ["head"],
        name: `n${i}`,
      },
    });
    id = (await body<{ id: number }>(created)).id;
  }
});
afterAll(() => t.stop());

// Headers that differ between any two requests.
const perRequest = new Set(["date", "x-request-id", "connection", "keep-alive"]);

function comparable(response: Response): Record<string, string> {
  return Object.fromEntries([...response.headers].filter(([name]) => !perRequest.has(name)));
}

describe("HEAD", () => {
  const paths: [string, string, boolean][] = [
    ["the list", "/your_moms/api-v2/instances", true],
    ["a page of the list, with its cursor headers", "/your_moms/api-v2/instances?tags=head&pageSize=1", true],
    ["an instance", "/your_moms/api-v2/instances/{id}", true],
    ["a missing instance (404)", "/your_moms/api-v2/instances/987654", true],
    ["a malformed id (400)", "/your_moms/api-v2/instances/{id}e0", true],
    ["the catalog", "/your_moms/api-v2/your_moms", true],
    ["a connector", "/your_moms/api-v2/your_moms/freshservice", true],
    ["the catalog without Authorization (401)", "/your_moms/api-v2/your_moms", false],
    ["an unknown API path (404)", "/your_moms/api-v2/nothing", true],
    ["health", "/healthz", false],
    ["the spec", "/openapi.json", false],
    ["the docs", "/docs/", false],
  ];
  it.each(paths)("on %s answers as GET does, without a body", async (_name, path, authorized) => {
    const url = `${t.server.url}${path.replace("{id}", String(id))}`;
    const headers = authorized ? { Authorization: t.authorization } : undefined;
    const get = await fetch(url, { headers });
    const head = await fetch(url, { method: "HEAD", headers });
    expect(head.status).toBe(get.status);
    expect(comparable(head)).toEqual(comparable(get));
    expect(await head.text()).toBe("");
    expect((await get.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it("is still checked: HEAD of a path without GET is a 405 naming the methods", async () => {
    const head = await t.api(`/instances/${id}/token`, { method: "HEAD" });
    expect(head.status).toBe(405);
    expect(head.headers.get("Allow")).toBe("POST");
  });
});
