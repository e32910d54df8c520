// One spelling per resource: an instance id is a canonical decimal integer, a numeric query value
// too, query keys are flat names, and paths are case-sensitive. Every other spelling is a 4xx
// Problem that reads, changes and deletes nothing (guards the fixed bug where DELETE /instances/1e0
// deleted instance 1).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
let id: number;
beforeAll(async () => {
  t = await startTestServer();
  // A few instances first, so that the one under test has a two-digit id.
  for (let i = 0; i < 10; i++) await t.api("/instances", { method: "POST", json: valid("filler") });
  id = (await body<{ id: number }>(await t.api("/instances", { method: "POST", json: valid("target") }))).id;
});
afterAll(() => t.stop());

function valid(name: string) {
  return { your_mom: { key: "freshservice" }, configuration: { username: "u", password: "p", subdomain: "acme" }, tags: ["strict"], name };
}

async function expectProblem(response: Response, statuses: number[]): Promise<Record<string, unknown>> {
  expect(statuses).toContain(response.status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
  const problem = await body(response);
  expect(problem.status).toBe(response.status);
  expect(problem.requestId).toBe(response.headers.get("X-Request-Id"));
  return problem;
}

describe("instance ids", () => {
  // Each spelling would address the target instance if read as a number.
  const spellings: [string, (id: number) => string][] = [
    ["a decimal point", (n) => `${n}.0`],
    ["a trailing point", (n) => `${n}.`],
    ["a leading zero", (n) => `0${n}`],
    ["an exponent", (n) => `${n}e0`],
    ["an upper-case exponent", (n) => `${n / 10}E1`],
    ["a plus sign", (n) => `+${n}`],
    ["an encoded plus sign", (n) => `%2B${n}`],
    ["a leading space", (n) => `%20${n}`],
    ["a trailing space", (n) => `${n}%20`],
    ["a tab", (n) => `%09${n}`],
    ["hexadecimal", (n) => `0x${n.toString(16)}`],
    ["octal", (n) => `0o${n.toString(8)}`],
    ["binary", (n) => `0b${n.toString(2)}`],
    ["an underscore separator", (n) => `${String(n).slice(0, 1)}_${String(n).slice(1)}`],
  ];
  const operations: [method: string, suffix: string, json?: () => unknown][] = [
    ["GET", ""],
    ["PATCH", "", () => ({ name: "changed" })],
    ["PUT", "", () => valid("replaced")],
    ["DELETE", ""],
    ["POST", "/token"],
  ];
  const cases = spellings.flatMap(([name, spell]) =>
    operations.map(([method, suffix, json]) => [`${method} with ${name}`, spell, method, suffix, json] as const),
  );

  it.each(cases)("refuses %s, and touches nothing", async (_name, spell, method, suffix, json) => {
    const target = (await body<{ id: number }>(await t.api("/instances", { method: "POST", json: valid("target") }))).id;
    const response = await t.api(`/instances/${spell(target)}${suffix}`, { method, ...(json ? { json: json() } : {}) });
    await expectProblem(response, [400, 404]);
    const still = await t.api(`/instances/${target}`);
    expect(still.status).toBe(200); // not deleted
    expect(still.headers.get("ETag")).toBe('"1"'); // never written: not renamed, replaced or given a new token
    expect(await body(still)).toMatchObject({ id: target, name: "target" });
    await t.api(`/instances/${target}`, { method: "DELETE" });
  });

  it("names the canonical form in the Problem", async () => {
    const problem = await expectProblem(await t.api(`/instances/${id}e0`), [400]);
    expect(problem).toMatchObject({ type: "urn:instances-api:problem:invalid-request", errors: [{ path: "/path/id" }] });
    expect(problem.message).toMatch(/decimal/);
  });

  it("answers the canonical spelling", async () => {
    expect((await t.api(`/instances/${id}`)).status).toBe(200);
  });
});

describe("numeric query values", () => {
  it.each([["0x10"], ["1e1"], ["%205"], ["5%20"], ["05"], ["+5"], ["%2B5"], ["5.0"], ["5."], [""], ["5&pageSize=6"]])(
    "refuses pageSize=%s",
    async (spelling) => {
      const problem = await expectProblem(await t.api(`/instances?pageSize=${spelling}`), [400]);
      expect(problem.type).toBe("urn:instances-api:problem:invalid-request");
    },
  );

  it("answers pageSize=5 with five instances", async () => {
    const response = await t.api("/instances?pageSize=5");
    expect(response.status).toBe(200);
    expect(await body<unknown[]>(response)).toHaveLength(5);
  });
});

describe("page cursors", () => {
  async function issuedCursor(): Promise<string> {
    const first = await t.api("/instances?tags=strict&pageSize=2");
    return first.headers.get("your_moms-next-page-token")!;
  }
  const reencoded = (cursor: string, rewrite: (json: string) => string) =>
    Buffer.from(rewrite(Buffer.from(cursor, "base64url").toString("utf8"))).toString("base64url");
  const spellings: [string, (cursor: string) => string][] = [
    ["a trailing character base64url skips", (c) => `${c}.`],
    ["a character inside it base64url skips", (c) => `${c.slice(0, 6)}~${c.slice(6)}`],
    ["an encoded space inside it", (c) => `${c.slice(0, 6)}%20${c.slice(6)}`],
    ["a padding-like trailing letter", (c) => `${c}A`],
    ["its JSON with spaces", (c) => reencoded(c, (json) => json.replace(",", ", "))],
    ["its JSON with the id as an exponent", (c) => reencoded(c, (json) => json.replace(/"a":(\d+)/, '"a":$1e0'))],
    ["its JSON with an extra member", (c) => reencoded(c, (json) => json.replace("}", ',"x":1}'))],
  ];
  it.each(spellings)("refuses a cursor with %s", async (_name, spell) => {
    const cursor = await issuedCursor();
    const problem = await expectProblem(await t.api(`/instances?tags=strict&pageSize=2&nextPage=${spell(cursor)}`), [400]);
    expect(problem).toMatchObject({
      type: "urn:instances-api:problem:invalid-request",
      errors: [{ path: "/query/nextPage", message: "is not a valid cursor" }],
    });
  });

  it("follows the cursor as issued", async () => {
    const response = await t.api(`/instances?tags=strict&pageSize=2&nextPage=${await issuedCursor()}`);
    expect(response.status).toBe(200);
    expect(await body<unknown[]>(response)).toHaveLength(2);
  });
});

describe("query keys", () => {
  it.each([
    ["tags[__proto__]=1"],
    ["tags[x]=strict"],
    ["tags[]=strict"],
    ["tags%5Bx%5D=strict"],
    ["tags=strict&tags[x]=1"],
    ["a[b][c]=1"],
    ["your_mom[key]=freshservice"],
    ["pageSize[0]=5"],
    ["__proto__=1"],
  ])("refuses %s rather than dropping or reshaping the filter", async (query) => {
    const problem = await expectProblem(await t.api(`/instances?${query}`), [400]);
    expect(problem.type).toBe("urn:instances-api:problem:invalid-request");
  });

  it("leave an unknown path a 404 and a missing Authorization a 401 (found by the fuzz test)", async () => {
    await expectProblem(await t.api("/unknown?tags[x]=1", { method: "POST", json: {} }), [404]);
    await expectProblem(await fetch(`${t.server.apiUrl}/instances?tags[__proto__]=1`), [401]);
  });

  it("filters by a flat tags key", async () => {
    const response = await t.api("/instances?tags=strict&pageSize=500");
    expect(response.status).toBe(200);
    expect(await body<unknown[]>(response)).toHaveLength(11);
  });
});

describe("case-sensitive paths", () => {
  // Paths from the server's root; the API's base path is /your_moms/api-v2.
  const cases: [string, string, string][] = [
    ["an upper-case collection", "GET", "/your_moms/api-v2/INSTANCES"],
    ["a capitalised collection", "GET", "/your_moms/api-v2/Instances"],
    ["a create on a capitalised collection", "POST", "/your_moms/api-v2/Instances"],
    ["an upper-case token path", "POST", "/your_moms/api-v2/instances/{id}/TOKEN"],
    ["an upper-case delete", "DELETE", "/your_moms/api-v2/INSTANCES/{id}"],
    ["an upper-case catalog", "GET", "/your_moms/api-v2/YOUR_MOMS"],
    ["an upper-case base path", "GET", "/YOUR_MOMS/api-v2/instances"],
    ["a base path with an upper-case version", "GET", "/your_moms/API-V2/instances"],
    ["a delete under an upper-case base path", "DELETE", "/YOUR_MOMS/api-v2/instances/{id}"],
    ["upper-case health", "GET", "/HEALTHZ"],
    ["upper-case docs", "GET", "/DOCS/"],
    ["upper-case spec", "GET", "/OPENAPI.JSON"],
  ];
  it.each(cases)("answers %s with a 404 Problem", async (_name, method, path) => {
    const headers = { Authorization: t.authorization, "Content-Type": "application/json" };
    const json = method === "POST" && !path.includes("{id}") ? { body: JSON.stringify(valid("by case")) } : {};
    const response = await fetch(`${t.server.url}${path.replace("{id}", String(id))}`, { method, headers, ...json });
    const problem = await expectProblem(response, [404]);
    expect(problem.type).toBe("urn:instances-api:problem:not-found");
    const target = await t.api(`/instances/${id}`);
    expect(target.headers.get("ETag")).toBe('"1"');
    expect(await body<unknown[]>(await t.api("/instances?tags=strict&pageSize=500"))).toHaveLength(11);
  });
});

describe("a trailing slash", () => {
  it.each([
    ["GET", "/instances/"],
    ["GET", "/instances/{id}/"],
    ["POST", "/instances/{id}/token/"],
    ["DELETE", "/instances/{id}/"],
    ["GET", "/your_moms/"],
    ["GET", "/your_moms/freshservice/"],
  ])("%s %s is another spelling: 404, and nothing is done", async (method, route) => {
    const before = await t.api(`/instances/${id}`);
    const answer = await t.api(route.replace("{id}", String(id)), { method });
    expect(answer.status).toBe(404);
    expect(await body(answer)).toMatchObject({ status: 404, type: "urn:instances-api:problem:not-found" });
    const after = await t.api(`/instances/${id}`);
    expect(after.status).toBe(200);
    expect(after.headers.get("ETag")).toBe(before.headers.get("ETag"));
  });
});
