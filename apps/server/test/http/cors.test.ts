// CORS: off by default (a page of another origin gets no Access-Control-Allow-Origin, and its
// preflight is refused), on for the origins CORS_ORIGINS lists: their preflights are answered and
// their requests carry the CORS headers; any other origin still gets none.
import { afterEach, describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import type { RunningServer } from "../../src/server.js";
import { startTestServer, type TestServer } from "../harness.js";

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function start(corsOrigins: string[]): Promise<TestServer> {
  const t = await startTestServer({ config: { corsOrigins } });
  running.push(t);
  return t;
}

const app = "https://app.example.com";
const preflight = (server: RunningServer, origin: string) =>
  fetch(`${server.apiUrl}/instances`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    },
  });

describe("CORS", () => {
  it("is off by default: no CORS headers, and a preflight is refused", async () => {
    const { server, authorization } = await start(readConfig({}).corsOrigins as string[]);
    const answer = await fetch(`${server.apiUrl}/instances`, { headers: { Authorization: authorization, Origin: app } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const refused = await preflight(server, app);
    expect(refused.status).toBe(405);
    expect(refused.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("answers the preflight of a listed origin and marks its requests, and only its", async () => {
    const { server, authorization } = await start([app]);
    const allowed = await preflight(server, app);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(app);
    expect(allowed.headers.get("Access-Control-Allow-Headers")).toMatch(/Authorization.*Idempotency-Key/);
    expect(allowed.headers.get("Access-Control-Allow-Methods")).toContain("PATCH");

    const answer = await fetch(`${server.apiUrl}/instances`, { headers: { Authorization: authorization, Origin: app } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("Access-Control-Allow-Origin")).toBe(app);
    expect(answer.headers.get("Access-Control-Expose-Headers")).toContain("ETag");
    expect(answer.headers.get("Vary")).toContain("Origin");

    const other = await fetch(`${server.apiUrl}/instances`, { headers: { Authorization: authorization, Origin: "https://evil.example" } });
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect((await preflight(server, "https://evil.example")).headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it.each(["app.example.com", "https://app.example.com/", "https://app.example.com/path", "ftp://files.example.com"])(
    "refuses CORS_ORIGINS=%s at start",
    (origin) => {
      expect(() => readConfig({ CORS_ORIGINS: origin })).toThrow("CORS_ORIGINS must list origins such as https://app.example.com");
    },
  );

  it("reads a comma-separated list", () => {
    expect(readConfig({ CORS_ORIGINS: "https://a.example, http://localhost:5173" }).corsOrigins).toEqual([
      "https://a.example",
      "http://localhost:5173",
    ]);
  });
});
