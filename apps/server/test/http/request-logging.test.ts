// One structured log line per request with its id, status and duration; the caller's
// X-Request-Id is kept; no Authorization header and no secret entry ever reaches the log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

describe("request logging", () => {
  it("writes one line per request with the request id, status and duration", async () => {
    const response = await t.api("/your_moms", { headers: { "X-Request-Id": "trace-abc-123" } });
    expect(response.headers.get("X-Request-Id")).toBe("trace-abc-123");
    const lines = t.logs.filter((l) => (l.req as { id?: string } | undefined)?.id === "trace-abc-123");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ req: { method: "GET", url: "/your_moms/api-v2/your_moms" }, res: { statusCode: 200 } });
    expect(lines[0]!.responseTime).toBeTypeOf("number");
  });

  it("makes a request id when none (or an unsafe one) is given", async () => {
    const cases: Record<string, string>[] = [
      {},
      { "X-Request-Id": "bad id with spaces and {braces}" },
      { "X-Request-Id": "x".repeat(500) },
    ];
    for (const headers of cases) {
      const response = await t.api("/your_moms", { headers });
      expect(response.headers.get("X-Request-Id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("never logs the Authorization header or a secret entry, even on errors", async () => {
    const secret = "Never-Log-This-Password-42";
    await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "freshservice" }, configuration: { username: "u", password: secret, subdomain: "acme" }, name: "n" },
    });
    await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "freshservice" }, configuration: { password: secret }, name: "n" },
    });
    await t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "freshservice" },
        configuration: { username: "u", password: secret, subdomain: "not a subdomain" },
        name: "n",
      },
    });
    const raw = t.rawLogs();
    expect(raw).not.toContain(secret);
    for (const part of t.authorization.split(/[ ,]+/).filter((w) => w.length > 20)) expect(raw).not.toContain(part);
  });
});
