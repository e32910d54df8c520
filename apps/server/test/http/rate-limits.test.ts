// Abuse limits: failed authentication is throttled per client address (429 Problem with
// Retry-After for unknown credentials once the burst is spent; valid credentials are always let
// in, and other addresses are not affected; more in test/accounts/authentication-throttle.test.ts),
// and an optional per-organization limit sends the IETF RateLimit headers.
// Other client addresses are real: Linux routes all of 127.0.0.0/8 to loopback, so a request sent
// from 127.0.0.2 or 127.0.0.3 arrives from that address.
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createAccount } from "../../src/accounts/accounts.js";
import { defaultRateLimits, readConfig, type RateLimits } from "../../src/config.js";
import type { RunningServer } from "../../src/server.js";
import { startTestServer, type TestServer } from "../harness.js";

const running: TestServer[] = [];
afterEach(async () => {
  for (const t of running.splice(0)) await t.stop();
});

async function start(rateLimits: Partial<RateLimits>): Promise<TestServer> {
  const t = await startTestServer({ config: { rateLimits: { ...defaultRateLimits, ...rateLimits } } });
  running.push(t);
  return t;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** GET /instances (or another path of the API) from a chosen loopback address. */
function list(
  server: RunningServer,
  authorization: string,
  from = "127.0.0.1",
  apiPath = "/instances",
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.apiUrl}${apiPath}`,
      { headers: { Authorization: authorization, ...headers }, localAddress: from },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const wrong = "User not-a-user, Organization not-an-organization";

describe("failed authentication", () => {
  it("is answered 429 with Retry-After once an address spent its burst, for that address only", async () => {
    const { server, authorization } = await start({ authenticationFailuresPerMinute: 5 });
    for (let i = 0; i < 5; i++) expect((await list(server, wrong)).status).toBe(401);

    const throttled = await list(server, wrong);
    expect(throttled.status).toBe(429);
    expect(throttled.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(throttled.body).toMatchObject({ status: 429, type: "urn:instances-api:problem:too-many-requests" });
    const retryAfter = Number(throttled.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Unknown secrets wait; valid ones from that address are let in all the same (issue 22).
    expect((await list(server, "User still-wrong, Organization still-wrong")).status).toBe(429);
    expect((await list(server, authorization)).status).toBe(200);

    // Another address, failing or not, is not held back by the first one's failures.
    expect((await list(server, authorization, "127.0.0.2")).status).toBe(200);
    expect((await list(server, wrong, "127.0.0.3")).status).toBe(401);
  });

  it("counts only failures: a valid caller's many requests, even at once, never throttle its address", async () => {
    const { server, authorization } = await start({ authenticationFailuresPerMinute: 5 });
    const burst = await Promise.all(Array.from({ length: 40 }, () => list(server, authorization)));
    expect(burst.map((a) => a.status)).toEqual(Array(40).fill(200));
    for (let i = 0; i < 4; i++) expect((await list(server, wrong)).status).toBe(401);
    expect((await list(server, authorization)).status).toBe(200);
  });
});

describe("failed authentication, pressed hard", () => {
  it("answers no more guesses 401 than the limit, however many arrive at once", async () => {
    const { server } = await start({ authenticationFailuresPerMinute: 5 });
    const guesses = await Promise.all(Array.from({ length: 60 }, (_, i) => list(server, `User guess-${i}, Organization guess-${i}`)));
    const statuses = guesses.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  });

  it("counts a wrong guess whatever the path, so an unknown path is no way around the limit", async () => {
    const { server } = await start({ authenticationFailuresPerMinute: 5 });
    for (let i = 0; i < 5; i++) expect((await list(server, wrong, "127.0.0.1", "/no-such-path")).status).toBe(404);
    expect((await list(server, wrong)).status).toBe(429);
  });
});

describe("the per-organization limit", () => {
  it("is off by default", async () => {
    expect(readConfig({}).rateLimits).toEqual({
      authenticationFailuresPerMinute: 30,
      requestsPerMinutePerOrganization: undefined,
      trustProxy: false,
    });
    expect(defaultRateLimits.requestsPerMinutePerOrganization).toBeUndefined();
    const { server, authorization } = await start(defaultRateLimits);
    const answer = await list(server, authorization);
    expect(answer.status).toBe(200);
    expect(answer.headers.ratelimit).toBeUndefined();
  });

  it("when set, sends the RateLimit headers and answers 429 past it, for that organization only", async () => {
    const { server, authorization } = await start({ requestsPerMinutePerOrganization: 3 });
    const other = await createAccount(server.storage.accounts, "other");

    const first = await list(server, authorization);
    expect(first.status).toBe(200);
    expect(first.headers.ratelimit).toMatch(/^"organization"; r=2; t=\d+$/);
    expect(first.headers["ratelimit-policy"]).toMatch(/^"organization"; q=3; w=60/);
    await list(server, authorization);
    await list(server, authorization);

    const over = await list(server, authorization);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ status: 429, type: "urn:instances-api:problem:too-many-requests" });
    expect(Number(over.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect((await list(server, other.authorization)).status).toBe(200);
  });

  it("counts by organization, not address: X-Forwarded-For changes nothing, even from a trusted proxy", async () => {
    const { server, authorization } = await start({ requestsPerMinutePerOrganization: 3, trustProxy: ["loopback"] });
    const statuses = [];
    for (const client of ["203.0.113.7", "198.51.100.9", "192.0.2.1", "203.0.113.8"])
      statuses.push((await list(server, authorization, "127.0.0.1", "/instances", { "X-Forwarded-For": client })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it("counts the requests the validator refuses too", async () => {
    const { server, authorization } = await start({ requestsPerMinutePerOrganization: 3 });
    for (let i = 0; i < 3; i++) expect((await list(server, authorization, "127.0.0.1", "/instances?pageSize=0")).status).toBe(400);
    const over = await list(server, authorization, "127.0.0.1", "/instances?pageSize=0");
    expect(over.status).toBe(429);
  });

  it.each([
    [{ RATE_LIMIT_PER_MINUTE: "lots" }, 'RATE_LIMIT_PER_MINUTE must be a positive whole number, not "lots"'],
    [{ AUTH_FAILURES_PER_MINUTE: "-1" }, 'AUTH_FAILURES_PER_MINUTE must be a positive whole number, not "-1"'],
  ])("refuses %o at start", (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});
