// Bad input gets a clear 4xx in the spec's Problem shape, never a 5xx, a hang or a stack trace.
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

async function expectProblem(response: Response, status: number, type: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
  const problem = await body(response);
  expect(problem).toMatchObject({ status, type: `urn:instances-api:problem:${type}` });
  expect(problem.requestId).toBe(response.headers.get("X-Request-Id"));
  expect(problem.message).toBeTypeOf("string");
  expect(JSON.stringify(problem)).not.toMatch(/at .*\.(js|ts):\d+/);
  return problem;
}

describe("configuration errors", () => {
  it("names every missing entry of the connector, in one clear message", async () => {
    const problem = await expectProblem(
      await t.api("/instances", { method: "POST", json: { ...valid, configuration: { username: "u" } } }),
      400,
      "missing-configuration",
    );
    expect(problem.message).toBe("freshservice is missing required configuration entries: password, subdomain");
    expect(problem).toMatchObject({ connector: "freshservice", missingEntries: ["password", "subdomain"] });
    expect(problem).not.toHaveProperty("errors");
  });

  it("names every missing entry when configuration is absent", async () => {
    const { configuration: _omitted, ...withoutConfiguration } = valid;
    const problem = await expectProblem(
      await t.api("/instances", { method: "POST", json: withoutConfiguration }),
      400,
      "missing-configuration",
    );
    expect(problem.missingEntries).toEqual(["username", "password", "subdomain"]);
  });

  it("names an unknown entry and the closest known one", async () => {
    const problem = await expectProblem(
      await t.api("/instances", { method: "POST", json: { ...valid, configuration: { ...valid.configuration, "subdomian.name": "x" } } }),
      400,
      "unknown-configuration",
    );
    expect(problem.unknownEntries).toEqual([{ entry: "subdomian.name", suggestion: "subdomain" }]);
    expect(problem.message).toBe('freshservice has no configuration entry "subdomian.name" (did you mean "subdomain"?)');
  });

  it("lists the known connectors for an unknown key, or a missing one", async () => {
    for (const json of [
      { ...valid, your_mom: { key: "freshdesk" } },
      { ...valid, your_mom: {} },
    ]) {
      const problem = await expectProblem(await t.api("/instances", { method: "POST", json }), 400, "unknown-connector");
      expect(problem.knownKeys).toEqual(["freshservice", "infobip", "quickbooksonprem", "sugarcrmv2", "taxify"]);
    }
  });

  it("says which value is wrong, in the connector's terms", async () => {
    const subdomain = await expectProblem(
      await t.api("/instances", {
        method: "POST",
        json: { ...valid, configuration: { ...valid.configuration, subdomain: "acme.freshservice.com" } },
      }),
      400,
      "invalid-configuration",
    );
    expect(subdomain.errors).toEqual([
      { path: "/body/configuration/subdomain", message: 'must match pattern "^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$"' },
    ]);
  });
});

describe("malformed requests", () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    [
      "malformed JSON",
      () => t.api("/instances", { method: "POST", body: '{"name": ', headers: { "Content-Type": "application/json" } }),
      400,
      "malformed-json",
    ],
    [
      "a wrong content type",
      () => t.api("/instances", { method: "POST", body: "name=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
      415,
      "unsupported-media-type",
    ],
    ["no body at all", () => t.api("/instances", { method: "POST" }), 415, "unsupported-media-type"],
    [
      "a body over 1 MB",
      () => t.api("/instances", { method: "POST", json: { ...valid, name: "x".repeat(1_100_000) } }),
      413,
      "payload-too-large",
    ],
    ["a name of the wrong type", () => t.api("/instances", { method: "POST", json: { ...valid, name: 5 } }), 400, "invalid-request"],
    ["tags that are not an array", () => t.api("/instances", { method: "POST", json: { ...valid, tags: "t" } }), 400, "invalid-request"],
    [
      "a huge string within the body limit",
      () => t.api("/instances", { method: "POST", json: { ...valid, name: "x".repeat(500_000) } }),
      400,
      "invalid-request",
    ],
    [
      "a huge configuration value",
      () =>
        t.api("/instances", {
          method: "POST",
          json: { ...valid, configuration: { ...valid.configuration, password: "p".repeat(900_000) } },
        }),
      400,
      "invalid-configuration",
    ],
    ["an unknown top-level field", () => t.api("/instances", { method: "POST", json: { ...valid, owner: "me" } }), 400, "invalid-request"],
    ["a JSON array body (a body must be an object)", () => t.api("/instances", { method: "POST", json: [valid] }), 400, "invalid-request"],
    ["an id that is not a number", () => t.api("/instances/abc"), 400, "invalid-request"],
    ["an id out of range", () => t.api("/instances/99999999999999999999"), 400, "invalid-request"],
    ["a page size out of range", () => t.api("/instances?pageSize=100000"), 400, "invalid-request"],
    ["an empty PATCH", () => t.api("/instances/1", { method: "PATCH", json: {} }), 400, "invalid-request"],
    ["an unknown path", () => t.api("/instancez"), 404, "not-found"],
    ["a path outside the API", () => fetch(`${t.server.url}/nothing/here`), 404, "not-found"],
    ["a method the path does not have", () => t.api("/instances", { method: "DELETE" }), 405, "method-not-allowed"],
  ];
  it.each(cases)("%s", async (_name, send, status, type) => {
    await expectProblem(await send(), status, type);
  });

  it("rejects deep nesting without a fault", async () => {
    const deep = "[".repeat(50_000) + "]".repeat(50_000);
    const response = await t.api("/instances", {
      method: "POST",
      body: `{"your_mom": {"key": "taxify"}, "name": "n", "configuration": {"api.key": ${deep}}}`,
      headers: { "Content-Type": "application/json" },
    });
    expect(response.status).toBe(400);
  });
});

describe("requests Node's HTTP parser refuses", () => {
  it("answers headers over 16 KB with a 431 in the Problem shape", async () => {
    const response = await t.api(`/instances?tags=${"x".repeat(20_000)}`);
    expect(response.status).toBe(431);
    expect(response.headers.get("Content-Type")).toBe("application/problem+json");
    expect(await body(response)).toMatchObject({ status: 431, type: "urn:instances-api:problem:headers-too-large" });
  });
});

describe("prototype pollution", () => {
  it.each([
    [
      "__proto__ at the top",
      '{"__proto__": {"polluted": true}, "your_mom": {"key": "taxify"}, "configuration": {"api.key": "k"}, "name": "n"}',
      "invalid-request",
    ],
    [
      "__proto__ in configuration",
      '{"your_mom": {"key": "taxify"}, "configuration": {"api.key": "k", "__proto__": {"polluted": true}}, "name": "n"}',
      "unknown-configuration",
    ],
    [
      "constructor.prototype",
      '{"your_mom": {"key": "taxify"}, "configuration": {"api.key": "k", "constructor": {"prototype": {"polluted": true}}}, "name": "n"}',
      "unknown-configuration",
    ],
  ])("rejects %s and pollutes nothing", async (_name, raw, type) => {
    const response = await t.api("/instances", { method: "POST", body: raw, headers: { "Content-Type": "application/json" } });
    await expectProblem(response, 400, type);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("rejects __proto__ in a PATCH's configuration", async () => {
    const created = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: valid }));
    const response = await t.api(`/instances/${created.id}`, {
      method: "PATCH",
      body: '{"configuration": {"__proto__": "x"}}',
      headers: { "Content-Type": "application/json" },
    });
    await expectProblem(response, 400, "invalid-request");
  });
});

describe("authentication", () => {
  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["a Bearer token", "Bearer abc"],
    ["the organization only", "Organization abc"],
    ["wrong secrets", "User abc, Organization def"],
    ["the secrets swapped", "swap"],
  ])("answers 401 to %s", async (_name, header) => {
    const headers = new Headers();
    let value = header;
    if (header === "swap") {
      const [, user, org] = /^User (\S+), Organization (\S+)$/.exec(t.authorization)!;
      value = `User ${org}, Organization ${user}`;
    }
    if (value !== undefined) headers.set("Authorization", value);
    const response = await fetch(`${t.server.apiUrl}/instances`, { headers });
    await expectProblem(response, 401, "unauthorized");
  });

  it("accepts the header with any spacing around the comma", async () => {
    const [, user, org] = /^User (\S+), Organization (\S+)$/.exec(t.authorization)!;
    const response = await fetch(`${t.server.apiUrl}/instances`, { headers: { Authorization: `User ${user},Organization ${org}` } });
    expect(response.status).toBe(200);
  });
});

describe("an unexpected fault", () => {
  it("is a 500 in the Problem shape, whose requestId stands in the log line with the cause", async () => {
    const faulty = await startTestServer();
    try {
      // A fault of the code, not of the storage (that is a 503): every list throws.
      faulty.server.storage.instances.list = () => Promise.reject(new TypeError("a bug in the store"));
      const response = await faulty.api("/instances", { headers: { "X-Request-Id": "fault-1" } });
      const problem = await expectProblem(response, 500, "internal");
      expect(problem.requestId).toBe("fault-1");
      expect(problem.message).not.toMatch(/database|sqlite/i);
      const line = faulty.logs.find(
        (l) => (l.req as { id?: string } | undefined)?.id === "fault-1" || JSON.stringify(l).includes("fault-1"),
      );
      expect(line).toBeDefined();
      expect(faulty.rawLogs()).toMatch(/a bug in the store/);
    } finally {
      await faulty.stop().catch(() => undefined);
    }
  });
});
