// A 401 says why, in two distinct messages (issue 27): a missing or malformed Authorization header
// is told the form the header must have; one in that form whose secrets name no account is told
// just that, alike whichever secret is wrong, and never repeats either. Both keep the unauthorized
// Problem type and the challenge.
import type { Request } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { elementSecurityHandler, schemeRefusal, securityHandler } from "../../src/accounts/authentication.js";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const formMessage = "The Authorization header must be: User <user secret>, Organization <organization secret>[, Element <instance token>]";
const noAccountMessage = "The user and organization secrets do not match an account";

/** GET /instances with this Authorization header, or none. */
const list = (authorization: string | undefined) =>
  fetch(`${t.server.apiUrl}/instances`, { headers: authorization === undefined ? {} : { Authorization: authorization } });

async function expectUnauthorized(response: Response, message: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toBe('User realm="instances-api"');
  const problem = await body(response);
  expect(problem).toMatchObject({ type: "urn:instances-api:problem:unauthorized", title: "Unauthorized", status: 401, message });
  return problem;
}

describe("a 401 for a header that is missing or not in the form", () => {
  it.each<[string, string | undefined]>([
    ["no header", undefined],
    ["an empty one", ""],
    ["another scheme", "Bearer 3q2_7wY"],
    ["the parts in another order", "Organization o1, User u1"],
    ["a trailing comma", "User u1, Organization o1,"],
    ["an Element part without a token", "User u1, Organization o1, Element"],
  ])("tells the form for %s", async (_name, authorization) => {
    await expectUnauthorized(await list(authorization), formMessage);
  });
});

describe("a 401 for a header in the form whose secrets name no account", () => {
  const secretsOf = async (organization: string) => {
    const { userSecret, organizationSecret } = await t.newAccount(organization);
    return { userSecret, organizationSecret };
  };

  it.each<[string, (mine: { userSecret: string; organizationSecret: string }, theirs: { organizationSecret: string }) => string]>([
    ["both secrets unknown", () => "User not-a-user-secret, Organization not-an-organization-secret"],
    ["a real user secret with a wrong organization secret", (mine) => `User ${mine.userSecret}, Organization not-an-organization-secret`],
    ["a wrong user secret with a real organization secret", (mine) => `User not-a-user-secret, Organization ${mine.organizationSecret}`],
    [
      "a user of one organization with another's secret",
      (mine, theirs) => `User ${mine.userSecret}, Organization ${theirs.organizationSecret}`,
    ],
    [
      "unknown secrets with an Element token",
      () => "User not-a-user-secret, Organization not-an-organization-secret, Element not-an-instance-token",
    ],
  ])("says they name no account, not which is wrong: %s", async (name, header) => {
    const mine = await secretsOf(`mine: ${name}`);
    const theirs = await secretsOf(`theirs: ${name}`);
    const authorization = header(mine, theirs);
    const problem = JSON.stringify(await expectUnauthorized(await list(authorization), noAccountMessage));
    const sent = [...authorization.matchAll(/(?:User|Organization|Element) ([^\s,]+)/g)].map((match) => match[1]!);
    for (const secret of sent) expect(problem).not.toContain(secret);
  });
});

describe("the security handlers the validator calls", () => {
  it("refuse a caller without an instance token with one error made once (fixed: an error built per request, on nearly every request, was 4 % of a read's CPU)", () => {
    const handler = elementSecurityHandler();
    const request = () => ({ res: { locals: { caller: { organizationId: 1, userId: 1 } } } }) as unknown as Request;
    const thrown = [request(), request()].map((req) => {
      try {
        handler(req);
      } catch (error) {
        return error;
      }
      return undefined;
    });
    expect(thrown[0]).toBe(schemeRefusal);
    expect(thrown[1]).toBe(schemeRefusal);
    expect(schemeRefusal.status).toBe(401);
    expect(securityHandler()(request())).toBe(true);
  });
});
