// Error bodies stay small whatever the request: lists are cut to their first 20 items with a
// total, values the request sent are echoed cut to 64 characters, and no request makes the
// server compute a suggestion for thousands of entries or for a huge name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const valid = {
  your_mom: { key: "freshservice" },
  configuration: { username: "u", password: "p", subdomain: "acme" },
  tags: ["t"],
  name: "n",
};
const maxErrorBytes = 64 * 1024;

function entries(count: number, name: (i: number) => string): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [name(i), "v"]));
}

async function problemOf(response: Response) {
  const text = await response.text();
  expect(response.status).toBe(400);
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxErrorBytes);
  return JSON.parse(text) as Record<string, unknown> & { message: string; unknownEntries?: { entry: string; suggestion?: string }[] };
}

describe("error bodies stay small", () => {
  it("refuses a create with 75,000 unknown entries (1 MB) as too many entries, in a small body", async () => {
    const configuration = { ...valid.configuration, ...entries(75_000, (i) => `e${i}`) };
    const problem = await problemOf(await t.api("/instances", { method: "POST", json: { ...valid, configuration } }));
    expect(problem).toMatchObject({
      type: "urn:instances-api:problem:invalid-configuration",
      errors: [{ path: "/body/configuration", message: "must NOT have more than 100 properties" }],
    });
  });

  it("refuses a replacement with too many entries the same way", async () => {
    const created = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: valid }));
    const configuration = { ...valid.configuration, ...entries(5_000, (i) => `e${i}`) };
    const problem = await problemOf(await t.api(`/instances/${created.id}`, { method: "PUT", json: { ...valid, configuration } }));
    expect(problem.errors).toEqual([{ path: "/body/configuration", message: "must NOT have more than 100 properties" }]);
  });

  // 94 with the 3 required entries and the 3 optional ones the validator fills in with their
  // defaults (the poller's): 100, as many as a configuration may hold.
  it("lists the first 20 of 94 unknown entries with their total, each name cut to 64 characters", async () => {
    const long = (i: number) => `${String(i).padStart(2, "0")}${"k".repeat(10_000)}`;
    const configuration = { ...valid.configuration, ...entries(94, long) };
    const problem = await problemOf(await t.api("/instances", { method: "POST", json: { ...valid, configuration } }));
    expect(problem.type).toBe("urn:instances-api:problem:unknown-configuration");
    expect(problem.unknownEntriesTotal).toBe(94);
    expect(problem.unknownEntries).toHaveLength(20);
    expect(problem.unknownEntries![0]).toEqual({ entry: `00${"k".repeat(62)}…` }); // no suggestion for a name this long
    expect(problem.message).toMatch(/and 84 more$/);
  });

  it("still suggests the closest entry for short unknown names", async () => {
    const configuration = { ...valid.configuration, usernme: "x", ...entries(30, (i) => `zz${i}`) };
    const problem = await problemOf(await t.api("/instances", { method: "POST", json: { ...valid, configuration } }));
    expect(problem.unknownEntries![0]).toEqual({ entry: "usernme", suggestion: "username" });
    expect(problem.unknownEntriesTotal).toBe(31);
  });

  it.each([
    ["an unknown connector key", { ...valid, your_mom: { key: "k".repeat(200_000) } }],
    ["an unknown top-level field", { ...valid, ["f".repeat(200_000)]: 1 }],
    ["a huge value of the wrong type", { ...valid, tags: "t".repeat(900_000) }],
  ])("echoes %s of 200 kB cut to 64 characters", async (_what, json) => {
    const text = await (await t.api("/instances", { method: "POST", json })).text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4_096);
    expect(text).not.toMatch(/(.)\1{64}/);
  });

  it.each([
    [
      "a PATCH with a huge unknown entry name",
      (id: number) => t.api(`/instances/${id}`, { method: "PATCH", json: { configuration: { ["x".repeat(100_000)]: "v" } } }),
    ],
    [
      "a PATCH with 100 unknown entries of 128 characters",
      (id: number) => t.api(`/instances/${id}`, { method: "PATCH", json: { configuration: entries(100, (i) => `${i}`.padEnd(128, "q")) } }),
    ],
    ["a huge query parameter name", () => t.api(`/instances?${"p".repeat(15_000)}=1`)],
    ["a huge path", () => t.api(`/instances/${"9".repeat(15_000)}`)],
  ])("keeps %s small", async (_what, send) => {
    const created = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: valid }));
    const text = await (await send(created.id)).text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(8_192);
    expect(text).not.toMatch(/(.)\1{128}/); // a path or a validator's message holding a name is cut to 128 characters
  });
});

describe("a PATCH that names an entry the connector does not have", () => {
  it.each([
    ["to set it", "x"],
    ["to remove it", null],
  ])("is refused %s, with the closest known entry", async (_what, value) => {
    const created = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: valid }));
    const response = await t.api(`/instances/${created.id}`, { method: "PATCH", json: { configuration: { subdomian: value } } });
    const problem = await problemOf(response);
    expect(problem).toMatchObject({
      type: "urn:instances-api:problem:unknown-configuration",
      connector: "freshservice",
      unknownEntries: [{ entry: "subdomian", suggestion: "subdomain" }],
    });
    expect(problem.message).toBe('freshservice has no configuration entry "subdomian" (did you mean "subdomain"?)');
  });
});

describe("a body that is JSON but not an object", () => {
  it.each([
    ["a string", '"x"'],
    ["null", "null"],
    ["an array", "[]"],
    ["a number", "1"],
    ["true", "true"],
  ])("is refused as such when it is %s", async (_what, raw) => {
    const created = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: valid }));
    for (const [method, path] of [
      ["POST", "/instances"],
      ["PUT", `/instances/${created.id}`],
      ["PATCH", `/instances/${created.id}`],
    ] as const) {
      const response = await t.api(path, { method, body: raw, headers: { "Content-Type": "application/json" } });
      const problem = await problemOf(response);
      expect(problem, `${method} ${raw}`).toMatchObject({
        type: "urn:instances-api:problem:invalid-request",
        message: "The body must be a JSON object",
        errors: [{ path: "/body", message: "must be a JSON object" }],
      });
    }
  });
});
