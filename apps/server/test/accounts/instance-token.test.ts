// The instance token opens the door: `Authorization: User <secret>, Organization <secret>,
// Element <instance token>` names one instance of the organization. GET /instance answers it as
// GET /instances/{id} does; a token that names none of the organization's instances (wrong,
// rotated away, a deleted instance's, another organization's) is 401 with the challenge, on every
// operation, and counts as a failed authentication.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultRateLimits } from "../../src/config.js";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const taxify = (name: string) => ({ your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name });

interface Created {
  id: number;
  token: string;
}

async function create(name: string, authorization = t.authorization): Promise<Created> {
  const response = await t.api("/instances", { method: "POST", json: taxify(name), headers: { Authorization: authorization } });
  expect(response.status).toBe(200);
  return body<Created>(response);
}

const withElement = (authorization: string, token: string) => `${authorization}, Element ${token}`;

/** GET /instance with the default account's secrets and this token. */
const current = (token: string, authorization = t.authorization) =>
  t.api("/instance", { headers: { Authorization: withElement(authorization, token) } });

async function expectRefusedToken(response: Response): Promise<void> {
  expect(response.status).toBe(401);
  expect(response.headers.get("WWW-Authenticate")).toBe('User realm="instances-api"');
  expect(await body(response)).toMatchObject({
    status: 401,
    message: "The Element token is not valid: it names no instance of this organization",
  });
}

describe("GET /instance", () => {
  it("answers the instance the token names, exactly as GET /instances/{id} shows it", async () => {
    await create("another one first");
    const { id, token } = await create("the one");
    const byToken = await current(token);
    const byId = await t.api(`/instances/${id}`);
    expect(byToken.status).toBe(200);
    expect(byToken.headers.get("ETag")).toBe(byId.headers.get("ETag"));
    const instance = await body(byToken);
    expect(instance).toEqual(await body(byId));
    expect(instance).toMatchObject({ id, name: "the one" });
    expect(instance).not.toHaveProperty("token");
  });

  it("answers 401 with the challenge for a wrong token", async () => {
    await create("a token that is not sent");
    await expectRefusedToken(await current("cPPwym+pwr26KozRxOhlBkX00MfD5V083o="));
  });

  it("answers 401 for the old token right after a rotation, and the instance for the new one", async () => {
    const { id, token: old } = await create("rotated");
    expect((await current(old)).status).toBe(200);
    const rotated = await body<Created>(await t.api(`/instances/${id}/token`, { method: "POST" }));
    await expectRefusedToken(await current(old));
    const fresh = await current(rotated.token);
    expect(fresh.status).toBe(200);
    expect(await body(fresh)).toMatchObject({ id });
  });

  it("answers 401 for another organization's instance token, as for a wrong one (its existence is not told)", async () => {
    const other = await t.newAccount("other");
    const theirs = await create("theirs", other.authorization);
    expect((await current(theirs.token, other.authorization)).status).toBe(200);
    await expectRefusedToken(await current(theirs.token));
  });

  it("answers 401 for a deleted instance's token: it names no instance any more", async () => {
    const { id, token } = await create("deleted");
    expect((await t.api(`/instances/${id}`, { method: "DELETE" })).status).toBe(204);
    await expectRefusedToken(await current(token));
  });

  it("answers 401 saying the token is needed when the header has no Element part", async () => {
    const response = await t.api("/instance");
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('User realm="instances-api"');
    expect((await body<{ message: string }>(response)).message).toMatch(/needs the instance token: .*Element <instance token>/);
    expect((await t.api("/instance", { headers: { Authorization: "" } })).status).toBe(401);
  });

  it("answers HEAD as GET", async () => {
    const { token } = await create("head");
    const response = await t.api("/instance", { method: "HEAD", headers: { Authorization: withElement(t.authorization, token) } });
    expect(response.status).toBe(200);
    expect(response.headers.get("ETag")).toBe('"1"');
  });
});

describe("the Element form on the other operations", () => {
  it("acts for the organization with a right token, and is 401 with a wrong one", async () => {
    const { id, token } = await create("ordinary");
    const list = await t.api("/instances", { headers: { Authorization: withElement(t.authorization, token) } });
    expect(list.status).toBe(200);
    expect((await body<{ id: number }[]>(list)).map((i) => i.id)).toContain(id);
    const renamed = await t.api(`/instances/${id}`, {
      method: "PATCH",
      json: { name: "renamed with the token" },
      headers: { Authorization: withElement(t.authorization, token) },
    });
    expect(renamed.status).toBe(200);

    const wrong = withElement(t.authorization, "not-the-token");
    await expectRefusedToken(await t.api("/instances", { headers: { Authorization: wrong } }));
    await expectRefusedToken(await t.api(`/instances/${id}`, { headers: { Authorization: wrong } }));
    await expectRefusedToken(await t.api("/your_moms", { headers: { Authorization: wrong } }));
    // Refused before its body is read: nothing is changed.
    await expectRefusedToken(await t.api(`/instances/${id}`, { method: "PATCH", json: { name: "x" }, headers: { Authorization: wrong } }));
    expect(await body(await t.api(`/instances/${id}`))).toMatchObject({ name: "renamed with the token" });
  });
});

describe("the failed-authentication throttle", () => {
  /** GET /instance with `authorization`, from a loopback address of its own (this test's). */
  const fromAddress = (authorization: string, from: string) =>
    new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const req = request(
        `${throttled.server.apiUrl}/instance`,
        { headers: { Authorization: authorization }, localAddress: from },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"] }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  let throttled: TestServer;
  beforeAll(async () => {
    throttled = await startTestServer({ config: { rateLimits: { ...defaultRateLimits, authenticationFailuresPerMinute: 3 } } });
  });
  afterAll(() => throttled.stop());

  it("counts wrong Element tokens with valid secrets, and still lets the right token in", async () => {
    const created = await throttled.api("/instances", { method: "POST", json: taxify("throttled") });
    const { token } = await body<Created>(created);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fromAddress(withElement(throttled.authorization, `wrong-${i}`), "127.0.0.3")).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await fromAddress(withElement(throttled.authorization, "wrong-again"), "127.0.0.3")).retryAfter).toMatch(/^\d+$/);
    expect((await fromAddress(withElement(throttled.authorization, token), "127.0.0.3")).status).toBe(200);
  });
});
