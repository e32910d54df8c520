// One structured log line per request with its id, status and duration; the caller's
// X-Request-Id is kept; no Authorization header and no secret entry ever reaches the log.
import { connect } from "node:net";
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

  it("logs the path without its query, and a failed answer at error level", async () => {
    await t.api("/instances?pageSize=2&secret=Query-Text-Stays-Out", { headers: { "X-Request-Id": "query-case" } });
    const line = t.logs.find((l) => (l.req as { id?: string } | undefined)?.id === "query-case");
    expect(line).toMatchObject({ level: 30, req: { url: "/your_moms/api-v2/instances" }, msg: "request completed" });
    expect(t.rawLogs()).not.toContain("Query-Text-Stays-Out");
  });

  it("logs a request whose caller went away before the answer, once, as aborted", async () => {
    const { hostname: host, port } = new URL(t.server.url);
    const socket = connect(Number(port), host);
    await new Promise((resolve) => socket.once("connect", resolve));
    // A body announced and never sent in full: the server waits for it, then the caller leaves.
    socket.write(
      `POST /your_moms/api-v2/instances HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${t.authorization}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 500\r\nX-Request-Id: gone-away\r\n\r\n{"name":',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    const lines = () => t.logs.filter((l) => (l.req as { id?: string } | undefined)?.id === "gone-away");
    await expect.poll(() => lines().length).toBe(1);
    expect(lines()[0]).toMatchObject({ aborted: true, req: { method: "POST" }, msg: "request aborted before its answer was sent" });
  });
});
