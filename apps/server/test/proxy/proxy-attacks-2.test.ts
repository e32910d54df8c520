// A hostile tenant against the second wave of connector changes (Taxify's key under the
// operation's name and its verdict in a 200's body, Infobip's base URL, Freshservice's secret
// username, the replica-wide budget of bodies held whole, a cut answer given up at the vendor), as
// proxy-attacks.test.ts runs the first: the real server in live mode, the real outbound guard. A
// fake SugarCRM over TLS answers at `sugar.test:<port>` (an injected resolver answers 127.0.0.1
// for it and nothing for any other name); Taxify, Infobip and Freshservice keep their real URLs up
// to the stream the proxy sends through, which takes note of them and sends them on, through the
// same guard, to one plain-HTTP fake on 127.0.0.1 (any other host is refused, and noted). Their
// credential checks go to that fake too. Nothing leaves this machine. Each attack is one test:
// refused or harmless (the test pins that), or a hole, fixed in the source (the test says so).
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultProxy, defaultVendorTiming } from "../../src/config.js";
import { guardedStream, type GuardedStream, type OutboundStream } from "../../src/outbound/guarded-stream.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";
import { OutboundError } from "../../src/outbound/outbound.js";
import { withheldMessage } from "../../src/provisioning/scrubber.js";
import { answerJson, startFakeVendor, type FakeVendor, type RecordedRequest, type VendorHandler } from "../../test-support/fake-vendor.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { loopbackSender, sendingNothingAway } from "../outbound/outbound-fakes.js";

// Canaries: what the platform holds for each instance. None may reach the caller or another host.
const canary = {
  taxifyKey: "canary/TAXIFY+key=5a0e",
  infobipPassword: "canary-INFOBIP-pass-1d6c",
  freshUsername: "canary-FRESH-apikey-90d1",
  freshPassword: "canary-FRESH-pass-77b2",
  sugarPassword: "canary-SUGAR-pass-3e9d",
  sugarKey: "canary-SUGAR-key-81aa",
  sugarSecret: "canary-SUGAR-secret-c04f",
};

/** The operation a Taxify request names (its path's last segment) and its JSON body, parsed. */
function taxifyRequest(request: RecordedRequest): { operation: string; sent: Record<string, unknown> } {
  const operation = request.path.split("?")[0]!.split("/").at(-1)!;
  try {
    return { operation, sent: JSON.parse(request.body || "{}") as Record<string, unknown> };
  } catch {
    return { operation, sent: {} };
  }
}
const passwordOf = (sent: Record<string, unknown>, operation: string) =>
  (sent[operation] as { Security?: { Password?: unknown } } | undefined)?.Security?.Password;

/** Taxify as its public clients read it: the key at <operation>.Security.Password, the verdict in d.ResponseStatus of a 200. */
const taxifyVerdict: VendorHandler = (request, response) => {
  const { operation, sent } = taxifyRequest(request);
  const ok = passwordOf(sent, operation) === canary.taxifyKey;
  answerJson(200, {
    d: { ResponseStatus: ok ? 1 : 0, Errors: ok ? [] : [{ Message: "The API key is not valid." }], Operation: operation },
  })(request, response);
};

/** Taxify's answers, per operation; any other operation gets taxifyVerdict. Tests script more. */
const taxifyOperations = new Map<string, VendorHandler>();

const basicOf = (request: RecordedRequest) =>
  Buffer.from(/^Basic (.+)$/.exec(String(request.headers.authorization ?? ""))?.[1] ?? "", "base64").toString();

/** Taxify, Infobip and Freshservice on one plain-HTTP fake, told apart by the host the server meant. */
const otherVendors: VendorHandler = (request, response) => {
  const path = request.path.split("?")[0] ?? "";
  if (request.host === "ws.taxify.co") {
    const { operation } = taxifyRequest(request);
    return (taxifyOperations.get(operation) ?? taxifyVerdict)(request, response);
  }
  if (request.host === "infobip.com" || request.host.endsWith(".infobip.com")) {
    return answerJson(basicOf(request).endsWith(`:${canary.infobipPassword}`) ? 200 : 401, { balance: 1 })(request, response);
  }
  if (request.host.endsWith(".freshservice.com")) {
    const ok = !fresh.refusing && basicOf(request) === `${canary.freshUsername}:${canary.freshPassword}`;
    const [username] = basicOf(request).split(":");
    if (!ok) {
      // Freshservice naming the key it was sent, as it is and in the forms a vendor may use.
      const said = `no agent for ${username} (${encodeURIComponent(username ?? "")}, ${Buffer.from(username ?? "").toString("base64")})`;
      return answerJson(401, { code: "access_denied", message: said })(request, response);
    }
    if (path.endsWith("/whoami")) {
      // An answer that names the agent's key in its headers.
      return answerJson(
        200,
        { ok: true },
        { "x-agent-key": username ?? "", "x-agent-key-upper": (username ?? "").toUpperCase() },
      )(request, response);
    }
    return answerJson(200, { agent: { id: 1 } })(request, response);
  }
  return answerJson(404, { error: "no such vendor" })(request, response);
};

/** Whether Freshservice refuses every key now (an administrator revoked it). */
const fresh = { refusing: false };

/** SugarCRM's tokens: access tokens it accepts now, refresh tokens it takes once; its token endpoint may be slowed or shut. */
const sugar = { access: new Set<string>(), refresh: new Set<string>(), delayMs: 0, refusing: false };

const sugarToken: VendorHandler = async (request, response) => {
  if (sugar.delayMs) await new Promise((resolve) => setTimeout(resolve, sugar.delayMs));
  const grant = JSON.parse(request.body || "{}") as Record<string, string>;
  const ok =
    !sugar.refusing &&
    (grant.grant_type === "password" ? grant.password === canary.sugarPassword : sugar.refresh.delete(grant.refresh_token ?? ""));
  if (!ok) return answerJson(400, { error: "invalid_grant" })(request, response);
  const issued = { access_token: `canary-ACCESS-${randomBytes(6).toString("hex")}`, refresh_token: randomBytes(8).toString("hex") };
  sugar.access.add(issued.access_token);
  sugar.refresh.add(issued.refresh_token);
  answerJson(200, { ...issued, expires_in: 3600 })(request, response);
};

const sugarApi: VendorHandler = (request, response) => {
  if (!sugar.access.has(String(request.headers["oauth-token"] ?? "")))
    return answerJson(401, { error: "invalid_grant" })(request, response);
  return answerJson(200, { method: request.method, bytes: request.body.length })(request, response);
};

let vendor: FakeVendor;
let plain: FakeVendor;
let guarded: GuardedStream;
let t: TestServer;
/** What the proxy asked its stream to send, in order: where, with which headers and body. */
const asked: { url: URL; headers: Record<string, string | string[]>; body: string }[] = [];
/** What the proxy asked to send to a host that is none of the vendors' (refused here, never sent). */
const strayed: URL[] = [];

const lookup = (hostname: string) => Promise.resolve(hostname === "sugar.test" ? [{ address: "127.0.0.1", family: 4 }] : []);
const isVendorHost = (host: string) =>
  host === "ws.taxify.co" || host === "infobip.com" || host.endsWith(".infobip.com") || host.endsWith(".freshservice.com");

/** The proxy's stream: noted, then through the guard (the real vendors' URLs to the plain fake instead). */
const recordingStream: OutboundStream = (request) => {
  asked.push({ url: request.url, headers: request.headers, body: Buffer.isBuffer(request.body) ? request.body.toString() : "" });
  if (request.url.hostname === "sugar.test") return guarded.send(request);
  if (request.url.protocol === "https:" && request.url.port === "" && isVendorHost(request.url.hostname)) {
    const url = new URL(plain.origin);
    url.pathname = request.url.pathname;
    url.search = request.url.search;
    return guarded.send({ ...request, url, headers: { ...request.headers, "x-original-host": request.url.host } });
  }
  strayed.push(request.url);
  return Promise.reject(new OutboundError("unreachable", `the tests send nothing to ${request.url.host}`));
};

/** The budget of bodies held whole in these tests: an organization's quarter holds one body of about 1 MB. */
const bufferedMaxBytes = 4_400_000;

beforeAll(async () => {
  [vendor, plain] = await Promise.all([
    startFakeVendor({ names: ["sugar.test"], handle: sugarApi }),
    startFakeVendor({ tls: false, handle: otherVendors }),
  ]);
  vendor.on("POST /rest/v10/oauth2/token", sugarToken);
  const allowedHosts = [vendor.host, plain.host];
  guarded = guardedStream({ allowedHosts, ca: [vendor.caPem], lookup, answerTimeoutMs: 2_000, connectionsPerOrigin: 8 });
  const sugarSender = guardedSender({ allowedHosts, ca: [vendor.caPem], lookup });
  const otherSender = loopbackSender(() => plain.port);
  t = await startTestServer({
    config: {
      provisioning: "live",
      verifyMinIntervalMs: 1_000,
      vendor: { ...defaultVendorTiming, timeoutMs: 3_000, refreshPollMs: 600_000 },
      proxy: {
        ...defaultProxy,
        timeoutMs: 2_000,
        requestMaxBytes: 1024 * 1024,
        perInstance: 4,
        perOrganization: 8,
        bufferedMaxBytes,
      },
    },
    outbound: {
      ...sendingNothingAway(),
      // The vendors' checks; an event's callback (a host of no vendor's) goes nowhere.
      send: (request) =>
        request.url.hostname === "sugar.test"
          ? sugarSender(request)
          : isVendorHost(request.url.host)
            ? otherSender(request)
            : Promise.reject(new OutboundError("unreachable", `the tests send nothing to ${request.url.host}`)),
      stream: { send: recordingStream, close: () => guarded.close() },
    },
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([vendor?.close(), plain?.close()]);
});
beforeEach(() => {
  for (const fake of [vendor, plain]) fake.requests.length = 0;
  asked.length = 0;
  strayed.length = 0;
  taxifyOperations.clear();
  Object.assign(sugar, { delayMs: 0, refusing: false });
  fresh.refusing = false;
});

async function created(json: unknown, authorization = t.authorization): Promise<{ id: number; token: string }> {
  const response = await t.api("/instances", { method: "POST", json, headers: { Authorization: authorization } });
  expect(response.status, await response.clone().text()).toBe(200);
  return body<{ id: number; token: string }>(response);
}

const taxify = (key = canary.taxifyKey) => ({ your_mom: { key: "taxify" }, configuration: { "api.key": key }, name: "Tax" });
const taxifyInstance = (authorization?: string) => created(taxify(), authorization);
const infobip = (configuration: Record<string, string> = {}) => ({
  your_mom: { key: "infobip" },
  configuration: {
    "messaging.sms.infobip.sender": "+17777777777",
    "messaging.sms.infobip.username": "sms",
    "messaging.sms.infobip.password": canary.infobipPassword,
    "messaging.sms.infobip.callback.url": "https://app.example/delivered",
    ...configuration,
  },
  name: "SMS",
});
const freshservice = (configuration: Record<string, string> = {}) => ({
  your_mom: { key: "freshservice" },
  configuration: { username: canary.freshUsername, password: canary.freshPassword, subdomain: "acme", ...configuration },
  name: "Desk",
});
const sugarInstance = () =>
  created({
    your_mom: { key: "sugarcrmv2" },
    configuration: {
      "oauth.api.key": canary.sugarKey,
      "oauth.api.secret": canary.sugarSecret,
      "site.url": `sugar.test:${vendor.port}`,
      username: "sales",
      password: canary.sugarPassword,
    },
    name: "CRM",
  });

const heldSecrets = () => [...Object.values(canary), ...sugar.access, ...sugar.refresh];
const leaked = (text: string) => heldSecrets().filter((secret) => text.toLowerCase().includes(secret.toLowerCase()));

const proxyCalls = async (id: number, authorization = t.authorization) =>
  body<{ calls: { outcome: string; status: number | null; path: string }[] }>(
    await t.api(`/instances/${id}/proxy-calls`, { headers: { Authorization: authorization } }),
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request written on a socket to the server, read as text; `options.cutAfterMs` cuts it, `pauseOnData` stops reading. */
function rawRequest(text: string, options: { cutAfterMs?: number; pauseOnData?: boolean } = {}) {
  const { port } = new URL(t.server.url);
  const socket: Socket = connect({ host: "127.0.0.1", port: Number(port) });
  const received: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => {
    received.push(chunk);
    if (options.pauseOnData) socket.pause();
  });
  socket.on("error", () => undefined);
  const answer = new Promise<string>((resolve) => socket.on("close", () => resolve(Buffer.concat(received).toString("latin1"))));
  socket.write(text);
  if (options.cutAfterMs !== undefined) setTimeout(() => socket.destroy(), options.cutAfterMs);
  return { socket, answer };
}

const basePath = () => new URL(t.server.apiUrl).pathname;
const requestText = (line: string, headers: string[], bodyText: string, authorization = t.authorization) =>
  `${line}\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\nConnection: close\r\n` +
  `${[...headers, `Content-Length: ${Buffer.byteLength(bodyText)}`].map((h) => `${h}\r\n`).join("")}\r\n${bodyText}`;

/** A Taxify instance per organization (by its Authorization), for the calls that measure the budget. */
const probeInstances = new Map<string, number>();

/** The status of a Taxify call of the organization (by default one of its own) whose body holds `bytes` bytes. */
async function probe(bytes: number, authorization?: string): Promise<number> {
  authorization ??= (await t.newAccount(`prober-${randomBytes(3).toString("hex")}`)).authorization;
  let id = probeInstances.get(authorization);
  if (id === undefined) probeInstances.set(authorization, (id = (await taxifyInstance(authorization)).id));
  const answer = await t.api(`/instances/${id}/proxy/Probe`, {
    method: "POST",
    headers: { Authorization: authorization },
    json: { Probe: { Note: "p".repeat(bytes) } },
  });
  await answer.arrayBuffer();
  return answer.status;
}

/**
 * Waits until a call holding ~1 MB, an organization's whole share, fits in the budget again (every
 * byte the organization's calls took given back, and room in the replica's), or fails.
 */
async function expectBudgetWhole(authorization?: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if ((await probe(1_000_000, authorization)) === 200) return;
    await sleep(100);
  }
  expect.fail("the budget of bodies held whole stays spent: bytes leaked, or one organization holds them all");
}

/** A Taxify call's answer and what the vendor received for it (nothing: undefined). */
async function taxifyCall(id: number, vendorPath: string, text: string, method = "POST") {
  const before = plain.requests.length;
  const answer = await t.api(`/instances/${id}/proxy/${vendorPath}`, {
    method,
    ...(method === "GET" || method === "HEAD" ? {} : { body: text }),
    headers: { "Content-Type": "application/json" },
  });
  const received = plain.requests.slice(before);
  return { answer, text: await answer.text(), received: received.at(-1) };
}

/** Every own key of Object.prototype and Array.prototype: a polluted prototype gains one. */
const prototypeKeys = () => [...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertyNames(Array.prototype)].sort();

describe("Taxify: the key under the operation's name, once, and only at ws.taxify.co", () => {
  it("puts the key under the very name the vendor sees as the operation, or refuses the name and sends nothing", async () => {
    const { id } = await taxifyInstance();
    const refused = [
      "%43alculateTax", // C, percent-encoded: the vendor would decode it to CalculateTax
      "Calculate%54ax",
      "CalculateTax;x=1",
      "CalculateTax%3Bx=1",
      "CalculateTax.",
      "CalculateTax%20",
      "CalculateTax%09",
      "Calculate%D0%A2ax", // a Cyrillic Т
      "%EF%BC%A3alculateTax", // a full-width C
      "__proto__",
      "%5F%5Fproto%5F%5F",
      "_proto",
      "9Lives",
      "CalculateTax/",
      "CalculateTax//",
      "",
    ];
    for (const vendorPath of refused) {
      const { answer, received } = await taxifyCall(id, vendorPath, "{}");
      expect(answer.status, vendorPath).toBe(400);
      expect(answer.headers.get("x-proxied-from"), vendorPath).toBeNull();
      expect(received, vendorPath).toBeUndefined();
    }
    const kept = [
      ["constructor", "constructor"],
      ["prototype", "prototype"],
      ["hasOwnProperty", "hasOwnProperty"],
      ["toString", "toString"],
      ["valueOf", "valueOf"],
      ["calculatetax", "calculatetax"],
      ["CalculateTax?op=GetCodes", "CalculateTax"],
      ["CalculateTax?GetCodes=1&x=%2F..%2F", "CalculateTax"],
      ["Nested/CalculateTax", "CalculateTax"],
      ["CalculateTax#GetCodes", "CalculateTax"],
    ];
    for (const [vendorPath, operation] of kept) {
      const { answer, received } = await taxifyCall(id, vendorPath!, `{"${operation}":{"Note":"n"}}`);
      expect(answer.status, vendorPath).toBe(200);
      const seen = received!.path.split("?")[0]!.split("/").at(-1);
      expect(seen, vendorPath).toBe(operation);
      const sent = JSON.parse(received!.body) as Record<string, { Security: { Password: string }; Note: string }>;
      expect(Object.keys(sent), vendorPath).toEqual([operation]);
      expect(sent[operation!]!.Security.Password, vendorPath).toBe(canary.taxifyKey);
      expect(sent[operation!]!.Note, vendorPath).toBe("n");
      expect(received!.body.split(canary.taxifyKey), vendorPath).toHaveLength(2);
    }
    expect(strayed).toEqual([]);
  });

  it("merges the key over any body without polluting a prototype, and sends it exactly once", async () => {
    const { id } = await taxifyInstance();
    const prototypesBefore = prototypeKeys();
    const attempts: [string, string][] = [
      ["CalculateTax", `{"__proto__":{"Security":{"Password":"mine"},"polluted":1}}`],
      ["CalculateTax", `{"CalculateTax":{"__proto__":{"Security":{"Password":"mine"},"polluted":1}}}`],
      ["CalculateTax", `{"CalculateTax":{"Security":{"__proto__":{"Password":"mine","polluted":1}}}}`],
      ["constructor", `{"constructor":{"prototype":{"Security":{"Password":"mine"},"polluted":1}}}`],
      ["prototype", `{"prototype":{"constructor":{"prototype":{"polluted":1}}}}`],
      ["CalculateTax", `{"CalculateTax":{"Security":{"Password":"mine","password":"lower","PASSWORD":"upper"}}}`],
      ["CalculateTax", `{"CalculateTax":{"Security":{"Password":{"nested":"mine"}}}}`],
      ["CalculateTax", `{"CalculateTax":null}`],
      ["CalculateTax", `{"CalculateTax":[{"Security":{"Password":"mine"}}]}`],
      ["CalculateTax", `{"CalculateTax":1,"CalculateTax":{"Note":"the last of two"}}`],
      ["CalculateTax", `{"Calculate\\u0054ax":{"Note":"an escaped name"}}`],
      ["CalculateTax", `{"CalculateTax":{"Security":"${canary.taxifyKey.slice(0, 6)}"}}`],
    ];
    for (const [operation, text] of attempts) {
      const { answer, received } = await taxifyCall(id, operation, text);
      expect(answer.status, text).toBe(200);
      const sent = JSON.parse(received!.body) as Record<string, { Security: Record<string, unknown> }>;
      expect(sent[operation]!.Security.Password, text).toBe(canary.taxifyKey);
      expect(received!.body.split(canary.taxifyKey), text).toHaveLength(2);
    }
    expect(prototypeKeys()).toEqual(prototypesBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).Security).toBeUndefined();
    expect(strayed).toEqual([]);
  });

  it("sends a GET, HEAD or DELETE for Taxify nowhere: the key would travel in a body such a request has no use for (fixed)", async () => {
    // Fixed: the key went in a body on a GET, a HEAD, a DELETE, requests whose content has no
    // defined meaning (RFC 9110 §9.3): a server or an intermediary may ignore it, or read it as
    // the next request on a connection that every tenant of the vendor shares.
    const { id } = await taxifyInstance();
    for (const method of ["GET", "HEAD", "DELETE"]) {
      const { answer, received } = await taxifyCall(id, "GetCodes", `{"GetCodes":{}}`, method);
      expect(answer.status, method).toBe(400);
      expect(answer.headers.get("x-proxied-from"), method).toBeNull();
      expect(received, method).toBeUndefined();
    }
    for (const method of ["POST", "PUT", "PATCH"]) expect((await taxifyCall(id, "GetCodes", "{}", method)).answer.status, method).toBe(200);
  });

  it("blots the key out of an answer that repeats it in any form a JSON, PHP or .NET service writes (fixed: PHP's \\/)", async () => {
    // Fixed: PHP's json_encode (and others) writes / as \/, a form of the key (a base64 key has
    // slashes) that the scrubber did not know: it came back, and JSON.parse reads it as the key.
    const { id } = await taxifyInstance();
    const key = canary.taxifyKey;
    const json = JSON.stringify(key).slice(1, -1);
    const forms: Record<string, string> = {
      raw: key,
      json,
      slashes: json.replaceAll("/", "\\/"),
      unicode: [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""),
      upper: key.toUpperCase(),
      url: encodeURIComponent(key),
      base64: Buffer.from(key).toString("base64"),
      entities: [...key].map((c) => `&#x${c.charCodeAt(0).toString(16)};`).join(""),
    };
    taxifyOperations.set("Echo", (request, response) => {
      const form = new URL(request.path, "http://x").searchParams.get("form") ?? "raw";
      response.writeHead(200, { "content-type": "application/json" });
      response.end(`{"d":{"ResponseStatus":0,"Errors":[{"Message":"the key ${forms[form]} is not valid"}]}}`);
    });
    for (const form of Object.keys(forms)) {
      const { answer, text } = await taxifyCall(id, `Echo?form=${form}`, "{}");
      expect(answer.status, form).toBe(200);
      // What the caller's JSON parser makes of it (the vendor's words withheld whole are not JSON).
      const parsed = text === withheldMessage ? text : JSON.stringify(JSON.parse(text));
      expect(leaked(text), form).toEqual([]);
      expect(leaked(parsed), form).toEqual([]);
      expect(leaked(decodeURIComponent(text)), form).toEqual([]);
    }
  });

  it("refuses a body nested deeper than it can write back out with 400 (fixed: a 500), and sends nothing", async () => {
    // Fixed: JSON.parse reads any depth within the 1 MB, but JSON.stringify, which writes the body
    // back out with the key in it, overflowed its stack (a RangeError): a 500 and an error logged.
    const { id } = await taxifyInstance();
    const depth = 200_000;
    for (const text of [
      `{"CalculateTax":{"Lines":${"[".repeat(depth)}${"]".repeat(depth)}}}`,
      `{"CalculateTax":${'{"a":'.repeat(depth / 4)}1${"}".repeat(depth / 4)}}`,
    ]) {
      const { answer, received } = await taxifyCall(id, "CalculateTax", text);
      expect(answer.status).toBe(400);
      expect(received).toBeUndefined();
    }
    expect((await taxifyCall(id, "CalculateTax", `{"CalculateTax":{}}`)).answer.status).toBe(200); // still serving
  });
});

interface Instance {
  id: number;
  valid: boolean;
  provisionInteractions: { step: string; host: string; outcome: string; status: number | null; detail?: string }[];
}

describe("Taxify: the verdict read from a 200's body", () => {
  /** Taxify's GetCodes answering `text` with `status`, whatever it was sent. */
  const checkAnswers = (text: string, status = 200) =>
    taxifyOperations.set(
      "GetCodes",
      (_request, response) => void response.writeHead(status, { "content-type": "application/json" }).end(text),
    );
  const deep = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const key = canary.taxifyKey;

  it.each([
    ["the expected value", `{"d":{"ResponseStatus":1}}`, 200, 200],
    ["the value as a string", `{"d":{"ResponseStatus":"1"}}`, 200, 422],
    ["the value as true", `{"d":{"ResponseStatus":true}}`, 200, 422],
    ["null", `{"d":{"ResponseStatus":null}}`, 200, 422],
    ["the value only on d's prototype", `{"d":{"__proto__":{"ResponseStatus":1}}}`, 200, 502],
    ["the value only on the answer's prototype", `{"__proto__":{"d":{"ResponseStatus":1}}}`, 200, 502],
    ["no d", `{"ResponseStatus":1}`, 200, 502],
    ["d as an array", `{"d":[1]}`, 200, 502],
    ["not JSON", `<html>ResponseStatus 1</html>`, 200, 502],
    ["the expected value in an answer of another 2xx", `{"d":{"ResponseStatus":1}}`, 201, 502],
    ["a refusal quoting the key", `{"d":{"ResponseStatus":0,"Errors":[{"Message":"key ${key} is unknown"}]}}`, 200, 422],
    [
      "a refusal quoting the key as PHP does",
      `{"d":{"ResponseStatus":0,"Errors":[{"Message":"${key.replaceAll("/", "\\\\/")}"}]}}`,
      200,
      422,
    ],
    ["a refusal whose value is the key", `{"d":{"ResponseStatus":"${key}"}}`, 200, 422],
    ["a refusal of 200,000 characters", `{"d":{"ResponseStatus":0,"Errors":[{"Message":"${"m".repeat(200_000)}"}]}}`, 200, 422],
    ["a refusal whose message is not text", `{"d":{"ResponseStatus":0,"Errors":[{"Message":{"key":"${key}"}}]}}`, 200, 422],
    ["a refusal whose value nests 100,000 deep (fixed: a 500)", `{"d":{"ResponseStatus":${deep(100_000)}}}`, 200, 422],
  ])("judges an answer with %s", async (_name, text, vendorStatus, status) => {
    checkAnswers(text, vendorStatus);
    const answer = await t.api("/instances", { method: "POST", json: taxify() });
    const said = await answer.text();
    expect(answer.status, said.slice(0, 300)).toBe(status);
    expect(leaked(said)).toEqual([]);
    expect(said.length).toBeLessThan(2_000);
  });

  it("keeps a refusal's words short and without the key in the instance's interactions, and sends the key nowhere else", async () => {
    const { id } = await taxifyInstance();
    for (const text of [
      `{"d":{"ResponseStatus":0,"Errors":[{"Message":"${"k".repeat(100_000)} ${key} ${encodeURIComponent(key)}"}]}}`,
      `{"d":{"ResponseStatus":{"key":"${key}","more":"${"x".repeat(100_000)}"}}}`,
    ]) {
      checkAnswers(text);
      const verified = await t.api(`/instances/${id}/verify`, { method: "POST" });
      const said = await verified.text();
      expect(leaked(said)).toEqual([]);
      const instance = await body<Instance>(await t.api(`/instances/${id}`));
      expect(instance.valid).toBe(false);
      const last = instance.provisionInteractions.at(-1)!;
      expect(last).toMatchObject({ step: "credential-check", host: "ws.taxify.co", outcome: "refused", status: 200 });
      expect(last.detail!.length).toBeLessThanOrEqual(301); // 300 and an ellipsis
      expect(leaked(JSON.stringify(instance))).toEqual([]);
      await sleep(1_000); // VERIFY_MIN_INTERVAL
    }
    expect(plain.requests.map((r) => r.host)).toEqual(["ws.taxify.co", "ws.taxify.co", "ws.taxify.co"]);
    // The platform's base.url is not the caller's to set.
    const moved = await t.api("/instances", {
      method: "POST",
      json: { ...taxify(), configuration: { "api.key": key, "base.url": "https://attacker.example/asmx" } },
    });
    expect(moved.status).toBe(400);
    expect(plain.requests).toHaveLength(3);
  });
});

describe("Infobip: the base URL moves the credentials only within infobip.com, and only sent again", () => {
  const entry = "messaging.sms.infobip.base.url";
  /** The hosts the vendors' fake was asked for with Infobip's password, by the checks and the proxy. */
  const infobipPasswordHosts = () => plain.requests.filter((r) => basicOf(r).endsWith(`:${canary.infobipPassword}`)).map((r) => r.host);

  it.each([
    "api.infobip.com.",
    "API.infobip.com",
    "Api.Infobip.Com",
    "api.infobip.com:443",
    "api.infobip.com:8443",
    "user@api.infobip.com",
    "api.infobip.com@attacker.example",
    "attacker.example#.infobip.com",
    "attacker.example?.infobip.com",
    "attacker.example/.infobip.com",
    "attacker.example\\.infobip.com",
    "attacker.example%2f.infobip.com",
    "attacker.example%2e.infobip.com",
    "api.infobip.com.attacker.example",
    "infobip.com.attacker.example",
    "attackerinfobip.com",
    "attacker-infobip.com",
    "infobip.com.",
    ".infobip.com",
    "a..infobip.com",
    "-a.infobip.com",
    "a-.infobip.com",
    "*.infobip.com",
    "xn--80ak6aa92e.com",
    "\u0430pi.infobip.com", // a Cyrillic а
    "api.infobip.com\u3002attacker.example", // an ideographic full stop, which URL parsers read as a dot
    "api\uff0einfobip.com",
    " api.infobip.com",
    "api.infobip.com ",
    "api.infobip.com\n",
    "api.infobip.com\u0000",
    "127.0.0.1",
    "[::1]",
    "a.b.c.infobip.com",
    `${"a".repeat(64)}.infobip.com`,
    "https://api.infobip.com",
    "//attacker.example",
    "",
  ])("refuses the base URL %j at create and at change, and sends nothing", async (value) => {
    const answer = await t.api("/instances", { method: "POST", json: infobip({ [entry]: value }) });
    expect(answer.status).toBe(400);
    const { id } = await created(infobip());
    const changed = await t.api(`/instances/${id}`, {
      method: "PATCH",
      json: { configuration: { [entry]: value, "messaging.sms.infobip.password": canary.infobipPassword } },
    });
    expect(changed.status).toBe(400);
    expect(infobipPasswordHosts()).toEqual(["api.infobip.com"]); // the create's check
  });

  it("sends the check and every proxied call to the base URL's own host, under infobip.com, whatever the schema takes", async () => {
    for (const value of ["infobip.com", "www.infobip.com", "x7k2p.api.infobip.com", "xn--bcher-kva.infobip.com", "a-b.c1.infobip.com"]) {
      plain.requests.length = 0;
      asked.length = 0;
      const { id } = await created(infobip({ [entry]: value }));
      const answer = await t.api(`/instances/${id}/proxy/account/1/balance`);
      expect(answer.status, value).toBe(200);
      expect(infobipPasswordHosts(), value).toEqual([value, value]);
      expect(
        asked.map((a) => a.url.origin),
        value,
      ).toEqual([`https://${value}`]);
    }
    expect(strayed).toEqual([]);
  });

  it("moves the credentials only with the password sent again: PATCH, PATCH back to the default, PUT, the mask", async () => {
    const { id } = await created(infobip({ [entry]: "x7k2p.api.infobip.com" }));
    plain.requests.length = 0;
    const patch = (configuration: Record<string, string | null>) => t.api(`/instances/${id}`, { method: "PATCH", json: { configuration } });
    for (const configuration of [{ [entry]: "mine.infobip.com" }, { [entry]: null }, { [entry]: "api.infobip.com" }]) {
      const moved = await patch(configuration);
      expect(moved.status, JSON.stringify(configuration)).toBe(400);
      expect(await body(moved)).toMatchObject({
        type: "urn:instances-api:problem:credentials-required",
        missingEntries: ["messaging.sms.infobip.password"],
      });
    }
    const { configuration: shown } = await body<{ configuration: Record<string, string> }>(await t.api(`/instances/${id}`));
    const replaced = await t.api(`/instances/${id}`, {
      method: "PUT",
      json: { ...infobip(), configuration: { ...shown, [entry]: "mine.infobip.com" } }, // the password as shown: the mask
    });
    expect(replaced.status).toBe(422); // the mask is what was sent, and refused there
    expect(infobipPasswordHosts()).toEqual([]);
    expect(plain.requests.map((r) => [r.host, basicOf(r)])).toEqual([["mine.infobip.com", "sms:********"]]);
    // Still where it was accepted, with its own password.
    expect((await t.api(`/instances/${id}/proxy/account/1/balance`)).status).toBe(200);
    expect(asked.map((a) => a.url.host)).toEqual(["x7k2p.api.infobip.com"]);
  });

  it("never sends the stored password to a new host whatever concurrent changes interleave", async () => {
    const { id } = await created(infobip());
    plain.requests.length = 0;
    const patch = (configuration: Record<string, string>) =>
      t.api(`/instances/${id}`, { method: "PATCH", json: { configuration } }).then(async (answer) => {
        await answer.arrayBuffer();
        return answer.status;
      });
    for (let round = 0; round < 5; round++) {
      const host = `mine${round}.infobip.com`;
      await Promise.all([
        patch({ [entry]: host, "messaging.sms.infobip.password": `attacker-pass-${round}` }),
        patch({ "messaging.sms.infobip.sender": `+1555000${round}` }),
        patch({ "messaging.sms.infobip.username": "sms" }),
        patch({ [entry]: "api.infobip.com" }),
      ]);
      await sleep(1_000); // VERIFY_MIN_INTERVAL
      await (await t.api(`/instances/${id}/proxy/account/1/balance`)).arrayBuffer();
    }
    expect(infobipPasswordHosts().every((host) => host === "api.infobip.com")).toBe(true);
    for (const sent of plain.requests) if (sent.host !== "api.infobip.com") expect(basicOf(sent)).toMatch(/:attacker-pass-\d$/);
    expect(strayed).toEqual([]);
  });
});

describe("Freshservice: the username is a secret wherever it could show", () => {
  const username = canary.freshUsername;
  /** The instance's event payloads, as stored to be sent. */
  const eventPayloads = (id: number) => {
    const db = new Database(path.join(t.dataDir, "instances.sqlite"), { readonly: true });
    try {
      return (db.prepare("SELECT payload FROM event_deliveries WHERE instance_id = ?").all(id) as { payload: string }[]).map(
        (r) => r.payload,
      );
    } finally {
      db.close();
    }
  };

  it("shows it in no answer, event, interaction, proxied header, proxy-calls list or log line", async () => {
    const notified = { "event.notification.enabled": "true", "event.notification.callback.url": "https://events.example/hook" };
    const createdAnswer = await t.api("/instances", { method: "POST", json: freshservice(notified) });
    const createdText = await createdAnswer.text();
    expect(createdAnswer.status).toBe(200);
    const { id } = JSON.parse(createdText) as { id: number };
    const texts = [createdText];
    const read = async (path: string, init?: RequestInit & { json?: unknown }) => {
      const answer = await t.api(path, init);
      texts.push(`${path} ${answer.status} ${[...answer.headers].join(" ")} ${await answer.text()}`);
      return answer;
    };
    await read(`/instances/${id}`);
    await read("/instances");
    await read(`/instances/${id}`, { method: "PATCH", json: { name: "Desk 2" } });
    await read(`/instances/${id}`, { method: "PUT", json: freshservice(notified) });
    await read(`/instances/${id}/proxy/whoami`); // the vendor names the key in its headers
    await read(`/instances/${id}/proxy/tickets`);
    await sleep(1_000); // VERIFY_MIN_INTERVAL
    fresh.refusing = true; // Freshservice refuses it now, naming it in three forms
    await read(`/instances/${id}/verify`, { method: "POST" });
    await read(`/instances/${id}`);
    await read(`/instances/${id}/proxy-calls`);
    await read("/instances", { method: "POST", json: freshservice() }); // refused at create: 422
    // A username the schema refuses is not quoted back either.
    await read(`/instances/${id}`, { method: "PATCH", json: { configuration: { username: `${username}${"u".repeat(300)}` } } });
    await read("/instances", { method: "POST", json: freshservice({ username: `${username}\u0000` }) });
    expect(texts.join("\n")).toContain("no agent for ********"); // what Freshservice said, the key blotted
    for (const text of [...texts, ...eventPayloads(id), t.rawLogs()]) expect(text).not.toContain(username);
    expect(eventPayloads(id).length).toBeGreaterThanOrEqual(3);
    expect(texts.find((text) => text.startsWith(`/instances/${id}/proxy/whoami`))).not.toMatch(/x-agent-key/i);
  });

  it("asks for the password again before it goes as another username (fixed) or to another subdomain", async () => {
    // Fixed: once the username became a secret, a change of it alone no longer counted as a move,
    // and the stored password went as anyone a tenant named (credentials-stay.test.ts's SugarCRM rule).
    const { id } = await created(freshservice());
    plain.requests.length = 0;
    const patch = (configuration: Record<string, string>) => t.api(`/instances/${id}`, { method: "PATCH", json: { configuration } });
    for (const [configuration, missing] of [
      [{ subdomain: "attacker" }, ["password", "username"]],
      [{ subdomain: "attacker", password: "attacker-pass" }, ["username"]],
      [{ subdomain: "attacker", username: "attacker-key" }, ["password"]],
      [{ username: "attacker-key" }, ["password"]],
    ] as const) {
      const moved = await patch(configuration);
      expect(moved.status, JSON.stringify(configuration)).toBe(400);
      expect(await body(moved)).toMatchObject({ type: "urn:instances-api:problem:credentials-required", missingEntries: missing });
    }
    expect(plain.requests).toEqual([]);
  });
});

/** A Taxify call whose chunked body starts with `bytes` bytes and then waits: it holds them. */
function holdingCall(tenant: { authorization: string }, id: number, bytes: number) {
  const start = `{"Hold":{"Note":"${"h".repeat(bytes)}`;
  return rawRequest(
    `POST ${basePath()}/instances/${id}/proxy/Hold HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${tenant.authorization}\r\n` +
      `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${start.length.toString(16)}\r\n${start}\r\n`,
  );
}

/** A Taxify call of another tenant that holds `bytes` bytes of its body until it leaves. */
async function heldBody(bytes: number): Promise<{ leave: () => void }> {
  const tenant = await t.newAccount(`holder-${randomBytes(3).toString("hex")}`);
  const { id } = await taxifyInstance(tenant.authorization);
  const { socket } = holdingCall(tenant, id, bytes);
  await sleep(300); // the server reads what was written
  return { leave: () => socket.destroy() };
}

describe("the budget of bodies held whole: nothing keeps bytes past its call", () => {
  it("gives a PUT's body back when its caller leaves while a 401's renewal is under way", async () => {
    // The 401's body is complete before the caller leaves: were it not destroyed with the call, the
    // answer would be passed to a response already closed, and never finish.
    const { id } = await sugarInstance();
    sugar.access.clear(); // the vendor refuses the token from now on...
    Object.assign(sugar, { refusing: true, delayMs: 400 }); // ...and takes its time to refuse a new one
    const put = rawRequest(
      requestText(`PUT ${basePath()}/instances/${id}/proxy/Contacts/1 HTTP/1.1`, ["Content-Type: text/plain"], "x".repeat(600_000)),
      { cutAfterMs: 300 },
    );
    await put.answer;
    await sleep(1_200); // the refresh and the password grant, both refused
    expect(vendor.requests.filter((r) => r.path === "/rest/v10/Contacts/1")).toHaveLength(1);
    await expectBudgetWhole(t.authorization);
    expect((await proxyCalls(id)).calls.map((c) => c.outcome)).toEqual(["aborted"]);
  });

  it("keeps one organization within its share of the budget: its calls cannot hold it all and starve the others (fixed)", async () => {
    // Fixed: within its own caps (8 calls in flight here, 50 by default), one tenant could hold
    // the whole replica's budget with slow bodies (7 SugarCRM PUTs of 10 MiB fill the default
    // 64 MiB), and every other tenant's Taxify call and SugarCRM PUT got 503 for as long as it liked.
    const tenant = await t.newAccount("hog");
    const instances = [await taxifyInstance(tenant.authorization), await taxifyInstance(tenant.authorization)];
    // 8 × 560 kB: more than the whole replica's 4.4 MB.
    const calls = Array.from({ length: 8 }, (_, index) => holdingCall(tenant, instances[index % 2]!.id, 560_000));
    try {
      await sleep(500);
      await expectBudgetWhole(); // another tenant's call of 1 MB still fits
      const refused = (await Promise.all(calls.map((c) => Promise.race([c.answer, sleep(200).then(() => "")])))).filter(Boolean);
      expect(refused.length).toBeGreaterThan(0);
      for (const answer of refused) expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    } finally {
      for (const c of calls) c.socket.destroy();
    }
  });

  it("answers 502, not 503 or 429 with Retry-After, when the budget cannot hold an answer: the vendor has acted (fixed)", async () => {
    // Fixed: the vendor had carried the call out (a tax document committed), and the caller was
    // told 503 "retry in 1 s", which a client takes as "not done": a retry would commit it twice.
    const tenant = await t.newAccount("committer");
    const { id } = await taxifyInstance(tenant.authorization);
    taxifyOperations.set("Commit", answerJson(200, { d: { ResponseStatus: 1, Document: "c".repeat(800_000) } }));
    const commit = () =>
      t.api(`/instances/${id}/proxy/Commit`, {
        method: "POST",
        headers: { Authorization: tenant.authorization },
        json: { Commit: { IsCommitted: true } },
      });
    const refusedAs502 = async () => {
      const sent = plain.requests.length;
      const answer = await commit();
      expect(plain.requests.length - sent).toBe(1);
      expect(answer.status).toBe(502);
      expect(answer.headers.get("retry-after")).toBeNull();
      expect(await body(answer)).toMatchObject({ type: "urn:instances-api:problem:vendor-unavailable" });
    };
    // The replica's budget held by four other tenants, each within its quarter (a bystander's 600 kB call refused)...
    const others = await Promise.all(Array.from({ length: 4 }, () => heldBody(1_000_000)));
    const bystander = await t.newAccount("bystander");
    let own: ReturnType<typeof holdingCall> | undefined;
    try {
      for (let attempt = 0; (await probe(600_000, bystander.authorization)) !== 503; attempt++) {
        if (attempt === 20) expect.fail("the other tenants' bodies are not held");
        await sleep(100);
      }
      await refusedAs502();
      // ...then this tenant's own quarter, held by another call of its own.
      for (const other of others) other.leave();
      own = holdingCall(tenant, id, 900_000);
      await sleep(300);
      await refusedAs502();
    } finally {
      for (const other of others) other.leave();
      own?.socket.destroy();
    }
    await expectBudgetWhole(tenant.authorization);
  });

  it("gives every byte, slot and vendor connection back however a Taxify call ends (fixed: a cut answer was a 500)", async () => {
    // Fixed: Taxify's answer is read whole; a vendor that cut it short (or stalled in it) made the
    // read fail with undici's own error, which no one mapped: a 500, not the 502 of a streamed answer.
    const tenant = await t.newAccount("ends");
    const { id } = await taxifyInstance(tenant.authorization);
    const open = { answers: 0 };
    /** An answer the fake writes itself, counted while its connection is open. */
    const counted =
      (write: (response: ServerResponse) => void): VendorHandler =>
      (_request, response) => {
        open.answers++;
        response.on("close", () => open.answers--);
        write(response);
      };
    taxifyOperations.set(
      "Hang",
      counted(() => undefined),
    );
    taxifyOperations.set(
      "Trickle",
      counted((response) => {
        response.writeHead(200, { "content-type": "application/json" });
        const timer = setInterval(() => response.write(" "), 20);
        response.on("close", () => clearInterval(timer));
      }),
    );
    taxifyOperations.set(
      "Dies",
      counted((response) => {
        response.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
        response.write(`{"d":"${"x".repeat(1_000)}`);
        setTimeout(() => response.socket?.destroy(), 50);
      }),
    );
    taxifyOperations.set(
      "Huge",
      counted((response) => {
        response.writeHead(200, { "content-type": "application/json" });
        response.write(`{"d":"${"x".repeat(1_100_000)}`);
      }),
    );
    taxifyOperations.set(
      "Declared",
      counted((response) => {
        response.writeHead(200, { "content-type": "application/json", "content-length": String(60 * 1024 * 1024) });
        response.write("{");
      }),
    );
    taxifyOperations.set(
      "Gzip",
      counted((response) => {
        response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        response.write("\x1f\x8b");
      }),
    );
    const call = (operation: string) =>
      t.api(`/instances/${id}/proxy/${operation}`, { method: "POST", json: {}, headers: { Authorization: tenant.authorization } });
    const line = (operation: string) =>
      requestText(
        `POST ${basePath()}/instances/${id}/proxy/${operation} HTTP/1.1`,
        ["Content-Type: application/json"],
        "{}",
        tenant.authorization,
      );
    for (let round = 0; round < 2; round++) {
      const statuses = await Promise.all(
        ["Hang", "Trickle", "Dies", "Huge"].map(async (operation) => {
          const answer = await call(operation);
          await answer.arrayBuffer().catch(() => undefined);
          return answer.status;
        }),
      );
      expect(statuses).toEqual([504, 504, 502, 502]);
      const more = await Promise.all(["Declared", "Gzip"].map(async (operation) => (await call(operation)).status));
      expect(more).toEqual([502, 502]);
      // The caller leaving: while the vendor says nothing, while it trickles, halfway through the caller's own body.
      await Promise.all([
        rawRequest(line("Hang"), { cutAfterMs: 200 }).answer,
        rawRequest(line("Trickle"), { cutAfterMs: 200 }).answer,
        rawRequest(line("Dies").replace(/Content-Length: \d+/, "Content-Length: 100"), { cutAfterMs: 200 }).answer,
      ]);
    }
    await sleep(300);
    expect(open.answers).toBe(0); // every vendor answer given up at the vendor, none left open
    await expectBudgetWhole(tenant.authorization);
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 4 }, () => call("GetCodes"))); // the instance's 4 slots
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(Date.now() - started).toBeLessThan(1_000); // no call queued behind a busy connection
  });

  it("ends a caller that stops reading Taxify's answers at the deadline, and takes their bytes back (fixed: held for ever)", async () => {
    // Fixed: an answer read whole went back as one buffer, handed to the socket at once: the
    // deadline, which ends a streamed answer its caller stops reading, had nothing left to cut, and
    // the call kept its slots and its bytes of the budget for as long as its caller stayed connected
    // (four such organizations would hold the whole replica's budget).
    const tenant = await t.newAccount("slow-reader");
    const instances = [await taxifyInstance(tenant.authorization), await taxifyInstance(tenant.authorization)];
    // A megabyte each, one after another (?after=ms): each is read whole within the budget in turn.
    taxifyOperations.set("Big", async (request, response) => {
      await sleep(Number(new URL(request.path, "http://x").searchParams.get("after")));
      answerJson(200, { d: { ResponseStatus: 1, Lines: "l".repeat(1_000_000) } })(request, response);
    });
    // Pipelined on one connection that reads nothing: the kernel takes the first answers (a few
    // megabytes on loopback), and the last ones stay in the server, waiting for the caller.
    const big = (index: number) =>
      requestText(
        `POST ${basePath()}/instances/${instances[index % 2]!.id}/proxy/Big?after=${index * 150} HTTP/1.1`,
        ["Content-Type: application/json"],
        "{}",
        tenant.authorization,
      ).replace("Connection: close", "Connection: keep-alive");
    const reader = rawRequest(Array.from({ length: 6 }, (_, index) => big(index)).join(""), { pauseOnData: true });
    try {
      await sleep(1_200);
      expect(await probe(1_000_000, tenant.authorization)).toBe(429); // held by that caller, who reads nothing more
      await sleep(1_000); // past PROXY_TIMEOUT_MS (2 s) of each call, that caller still connected
      await expectBudgetWhole(tenant.authorization);
    } finally {
      reader.socket.destroy();
    }
  });
});
