// The failed-authentication throttle against the real server: valid credentials are always let
// in, cached or not, whatever the address did; unknown ones count against the client address and
// get 429 with Retry-After once it has spent its failures; and with TRUST_PROXY the client address
// is the one the trusted proxy reports. Requests really come from several loopback addresses
// (Linux routes all of 127.0.0.0/8 to loopback); forwarded addresses are only header text.
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
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

/** The rate limits TRUST_PROXY=`value` gives, read as the server reads its environment. */
function trusting(value: string, authenticationFailuresPerMinute: number): RateLimits {
  return { ...readConfig({ TRUST_PROXY: value }).rateLimits, authenticationFailuresPerMinute };
}

interface Answer {
  status: number;
  retryAfter: string | undefined;
}

/** GET /instances with `authorization`, from a loopback address, with an X-Forwarded-For if given. */
function list(
  server: RunningServer,
  authorization: string,
  { from = "127.0.0.1", forwardedFor }: { from?: string; forwardedFor?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { Authorization: authorization, ...(forwardedFor ? { "X-Forwarded-For": forwardedFor } : {}) };
  return new Promise((resolve, reject) => {
    const req = request(`${server.apiUrl}/instances`, { headers, localAddress: from }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] }));
    });
    req.on("error", reject);
    req.end();
  });
}

const wrong = (i = 0) => `User not-a-user-${i}, Organization not-an-organization-${i}`;

async function spendFailures(server: RunningServer, count: number, options: Parameters<typeof list>[2] = {}): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await list(server, wrong(i), options)).status);
  return statuses;
}

describe("the failed-authentication throttle", () => {
  it("lets a valid caller in from an address that sent 31 bad headers, though its header is not cached (issue 22)", async () => {
    const t = await start({});
    expect(await spendFailures(t.server, 31)).toEqual([...Array<number>(30).fill(401), 429]);
    // A colleague behind the same NAT, whose header this server has never seen.
    const colleague = await t.newAccount("Colleague Inc");
    expect((await list(t.server, colleague.authorization)).status).toBe(200);
    expect((await list(t.server, t.authorization)).status).toBe(200);
  });

  it("answers unknown credentials past the limit 429 with Retry-After, and the valid ones beside them 200", async () => {
    const t = await start({ authenticationFailuresPerMinute: 5 });
    const colleagues = await Promise.all(Array.from({ length: 5 }, (_, i) => t.newAccount(`Colleague ${i}`)));
    const [guesses, valid] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => list(t.server, wrong(i)))),
      Promise.all(colleagues.map((colleague) => list(t.server, colleague.authorization))),
    ]);
    expect(valid.map((a) => a.status)).toEqual(Array(5).fill(200));
    // Counted before each answer, so sent all at once they still get no more 401s than the limit.
    expect(guesses.filter((a) => a.status === 401)).toHaveLength(5);
    const refused = guesses.filter((a) => a.status === 429);
    expect(refused).toHaveLength(35);
    for (const { retryAfter } of refused) {
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    }
  });

  it("counts only the caller's address: another one still gets its 401s", async () => {
    const t = await start({ authenticationFailuresPerMinute: 3 });
    expect(await spendFailures(t.server, 4)).toEqual([401, 401, 401, 429]);
    expect(await spendFailures(t.server, 1, { from: "127.0.0.2" })).toEqual([401]);
  });
});

describe("TRUST_PROXY", () => {
  it("counts two clients forwarded by a trusted proxy apart (TRUST_PROXY=loopback)", async () => {
    const t = await start(trusting("loopback", 3));
    expect(await spendFailures(t.server, 4, { forwardedFor: "203.0.113.7" })).toEqual([401, 401, 401, 429]);
    expect(await spendFailures(t.server, 3, { forwardedFor: "198.51.100.9" })).toEqual([401, 401, 401]);
    // The proxy appends the address it saw; what the client wrote before it is not believed.
    expect(await spendFailures(t.server, 1, { forwardedFor: "192.0.2.1, 203.0.113.7" })).toEqual([429]);
  });

  it("is off by default: X-Forwarded-For is ignored, and the connection's address counts", async () => {
    const t = await start({ authenticationFailuresPerMinute: 3 });
    expect(await spendFailures(t.server, 2, { forwardedFor: "203.0.113.7" })).toEqual([401, 401]);
    expect(await spendFailures(t.server, 2, { forwardedFor: "198.51.100.9" })).toEqual([401, 429]);
  });

  it("ignores X-Forwarded-For from a connection that is not a trusted proxy", async () => {
    const t = await start(trusting("10.0.0.0/8", 3));
    expect(await spendFailures(t.server, 2, { forwardedFor: "203.0.113.7" })).toEqual([401, 401]);
    expect(await spendFailures(t.server, 2, { forwardedFor: "198.51.100.9" })).toEqual([401, 429]);
  });
});
