// If-Match compares strongly (RFC 9110 §13.1.1): a weak ETag never matches, `*` matches any
// current instance, a list matches when one of its strong ETags does. ETags sent are strong.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const freshservice = (name: string) => ({
  your_mom: { key: "freshservice" },
  configuration: { username: "u", password: "p", subdomain: "acme" },
  tags: [],
  name,
});

/** A new instance, at version 2 (created, then renamed once): ETag "2". */
async function instanceAtVersion2(): Promise<number> {
  const { id } = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: freshservice("v1") }));
  const renamed = await t.api(`/instances/${id}`, { method: "PATCH", json: { name: "v2" } });
  expect(renamed.headers.get("ETag")).toBe('"2"');
  return id;
}

const writes: [method: string, json?: unknown][] = [["PATCH", { name: "written" }], ["PUT", freshservice("written")], ["DELETE"]];

describe("If-Match", () => {
  const refused: [string, string][] = [
    ["the weak form of the current ETag", 'W/"2"'],
    ["a list of weak ETags only", 'W/"1", W/"2"'],
    ["a stale strong ETag", '"1"'],
    ["an unquoted version", "2"],
    ["a lower-case weak prefix", 'w/"2"'],
    ["an empty list", ","],
  ];
  const cases = refused.flatMap(([name, value]) =>
    writes.map(([method, json]) => [`${method} with ${name}`, value, method, json] as const),
  );
  it.each(cases)("refuses %s with 412 and writes nothing", async (_name, value, method, json) => {
    const id = await instanceAtVersion2();
    const response = await t.api(`/instances/${id}`, { method, headers: { "If-Match": value }, ...(json ? { json } : {}) });
    expect(response.status).toBe(412);
    expect(await body(response)).toMatchObject({ status: 412, type: "urn:instances-api:problem:precondition-failed" });
    const after = await t.api(`/instances/${id}`);
    expect(after.headers.get("ETag")).toBe('"2"');
    expect(await body(after)).toMatchObject({ name: "v2" });
  });

  const accepted: [string, string][] = [
    ["the current strong ETag", '"2"'],
    ["a list holding it", '"1", "2", "3"'],
    ["a list holding it among weak ones", 'W/"2", "2"'],
    ["a list without spaces", '"1","2"'],
    ["*", "*"],
  ];
  const acceptedCases = accepted.flatMap(([name, value]) =>
    writes.map(([method, json]) => [`${method} with ${name}`, value, method, json] as const),
  );
  it.each(acceptedCases)("accepts %s", async (_name, value, method, json) => {
    const id = await instanceAtVersion2();
    const response = await t.api(`/instances/${id}`, { method, headers: { "If-Match": value }, ...(json ? { json } : {}) });
    expect(response.status).toBe(method === "DELETE" ? 204 : 200);
    if (method !== "DELETE") expect(response.headers.get("ETag")).toBe('"3"');
  });

  it("with * still answers 404 for an instance that does not exist", async () => {
    const response = await t.api("/instances/987654", { method: "PATCH", json: { name: "x" }, headers: { "If-Match": "*" } });
    expect(response.status).toBe(404);
  });
});

describe("ETags sent", () => {
  it("are strong on create, read, update, replace and token rotation", async () => {
    const created = await t.api("/instances", { method: "POST", json: freshservice("strong") });
    const { id } = await body<{ id: number }>(created);
    const responses = [
      created,
      await t.api(`/instances/${id}`),
      await t.api(`/instances/${id}`, { method: "PATCH", json: { name: "s" } }),
      await t.api(`/instances/${id}`, { method: "PUT", json: freshservice("s") }),
      await t.api(`/instances/${id}/token`, { method: "POST" }),
    ];
    for (const response of responses) expect(response.headers.get("ETag")).toMatch(/^"[0-9]+"$/);
  });
});
