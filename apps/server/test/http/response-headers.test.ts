// Headers on every response: X-Content-Type-Options: nosniff and helmet's other defaults
// everywhere; Cache-Control: no-store on everything but the docs (an API response may hold a
// token); a Content-Security-Policy that lets /docs render offline and lets an API response load
// nothing; and a 401 names its scheme in WWW-Authenticate.
import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
let faulty: TestServer;
let id: number;
beforeAll(async () => {
  t = await startTestServer();
  id = (await body<{ id: number }>(await t.api("/instances", { method: "POST", json: freshservice() }))).id;
  faulty = await startTestServer();
  // A fault of the code (not of the storage, which is a 503): every list now throws, a 500.
  faulty.server.storage.instances.list = () => Promise.reject(new TypeError("a bug in the store"));
});
afterAll(async () => {
  await t.stop();
  await faulty.stop().catch(() => undefined);
});

function freshservice() {
  return { your_mom: { key: "freshservice" }, configuration: { username: "u", password: "p", subdomain: "acme" }, tags: [], name: "n" };
}

/** A request Node's parser refuses (headers over 16 KB) is answered on the raw socket: 431. */
function oversizedHeaders(url: string): Promise<{ status: number; headers: Headers }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { "X-Big": "x".repeat(20_000) } }, (response) => {
      response.resume();
      const headers = new Headers();
      for (const [name, value] of Object.entries(response.headers)) if (typeof value === "string") headers.set(name, value);
      resolve({ status: response.statusCode ?? 0, headers });
    });
    request.on("error", reject);
    request.end();
  });
}

type Case = [name: string, status: number, send: () => Promise<{ status: number; headers: Headers }>];
const api: Case[] = [
  ["a list", 200, () => t.api("/instances")],
  ["a create (it holds the token)", 200, () => t.api("/instances", { method: "POST", json: freshservice() })],
  ["a token rotation (it holds the token)", 200, () => t.api(`/instances/${id}/token`, { method: "POST" })],
  ["a read", 200, () => t.api(`/instances/${id}`)],
  ["a HEAD", 200, () => t.api(`/instances/${id}`, { method: "HEAD" })],
  [
    "a delete",
    204,
    async () =>
      t.api(`/instances/${(await body<{ id: number }>(await t.api("/instances", { method: "POST", json: freshservice() }))).id}`, {
        method: "DELETE",
      }),
  ],
  ["the catalog", 200, () => t.api("/your_moms")],
  ["a 400", 400, () => t.api("/instances?pageSize=0")],
  ["a 401", 401, () => fetch(`${t.server.apiUrl}/instances`)],
  ["a 404", 404, () => t.api("/instances/987654")],
  ["a 405", 405, () => t.api("/instances", { method: "DELETE" })],
  ["a 406", 406, () => t.api("/instances", { headers: { Accept: "text/html" } })],
  ["a 412", 412, () => t.api(`/instances/${id}`, { method: "PATCH", json: { name: "x" }, headers: { "If-Match": '"999"' } })],
  ["a 413", 413, () => t.api("/instances", { method: "POST", json: { ...freshservice(), name: "x".repeat(1_100_000) } })],
  [
    "a 415",
    415,
    () => t.api("/instances", { method: "POST", body: "name=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
  ],
  ["a 500", 500, () => faulty.api("/instances")],
  ["a 431 from Node's parser", 431, () => oversizedHeaders(`${t.server.apiUrl}/instances`)],
];
const outside: Case[] = [
  ["/healthz", 200, () => fetch(`${t.server.url}/healthz`)],
  ["/openapi.json", 200, () => fetch(`${t.server.url}/openapi.json`)],
  ["a 404 outside the API", 404, () => fetch(`${t.server.url}/nothing`)],
];
const docs: Case[] = [
  ["/docs/", 200, () => fetch(`${t.server.url}/docs/`)],
  ["/docs (its redirect)", 301, () => fetch(`${t.server.url}/docs`, { redirect: "manual" })],
];

describe("every response", () => {
  it.each([...api, ...outside, ...docs])("%s carries X-Content-Type-Options: nosniff", async (_name, status, send) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it.each([...api, ...outside].filter(([name]) => !name.includes("431")))(
    "%s carries helmet's other defaults",
    async (_name, status, send) => {
      const response = await send();
      expect(response.status).toBe(status);
      expect(response.headers.get("X-Frame-Options")).toBe("DENY");
      expect(response.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(response.headers.get("Cross-Origin-Resource-Policy")).toBe("same-origin");
      expect(response.headers.get("Content-Security-Policy")).toBe("default-src 'none';frame-ancestors 'none'");
      expect(response.headers.get("X-Powered-By")).toBeNull();
    },
  );

  it.each([...api, ...outside])("%s carries Cache-Control: no-store", async (_name, status, send) => {
    const response = await send();
    expect(response.status).toBe(status);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });
});

describe("the docs page", () => {
  it("has a policy that allows only its own scripts: none from outside, each inline one by its hash", async () => {
    const response = await fetch(`${t.server.url}/docs/`);
    const html = await response.text();
    const policy = new Map(
      (response.headers.get("Content-Security-Policy") ?? "").split(";").map((directive): [string, string[]] => {
        const [name = "", ...values] = directive.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(policy.get("default-src")).toEqual(["'none'"]);
    expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
    const scriptSources = policy.get("script-src") ?? [];
    expect(scriptSources.filter((source) => !source.startsWith("'sha256-"))).toEqual(["'self'"]);
    const inlineScripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter(
      ([, attributes]) => !/\bsrc=/.test(attributes ?? ""),
    );
    expect(inlineScripts.length).toBeGreaterThan(0);
    const hashes = new Set(
      inlineScripts.map(
        ([, , script]) =>
          `'sha256-${createHash("sha256")
            .update(script ?? "")
            .digest("base64")}'`,
      ),
    );
    expect(new Set(scriptSources.filter((source) => source.startsWith("'sha256-")))).toEqual(hashes);
  });

  it("may be cached, unlike the API", async () => {
    const response = await fetch(`${t.server.url}/docs/`);
    expect(response.headers.get("Cache-Control")).toBe("no-cache");
  });
});

describe("a 401", () => {
  it.each([
    ["no Authorization", undefined],
    ["a Bearer token", "Bearer abc"],
    ["wrong secrets", "User abc, Organization def"],
  ])("with %s names the scheme in WWW-Authenticate", async (_name, authorization) => {
    const response = await fetch(`${t.server.apiUrl}/instances`, {
      headers: authorization === undefined ? {} : { Authorization: authorization },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('User realm="instances-api"');
  });

  it("is the only answer with a challenge", async () => {
    for (const response of [await t.api("/instances"), await t.api("/instances/987654")])
      expect(response.headers.get("WWW-Authenticate")).toBeNull();
  });
});
