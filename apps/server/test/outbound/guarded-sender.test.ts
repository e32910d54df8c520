// The guarded sender against a fake vendor over real TLS on 127.0.0.1, and its refusals. Every
// target is a loopback address; names that stand for private addresses come from an injected
// resolver, and the sockets the sender tries to open are watched (and stopped unless loopback).
// The refusals learnt from the network are pinned word for word: whatever stands behind a port
// or a name, the caller reads `unreachable` (or `tls`, `timeout`) and the host, nothing more.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { guardedSender, type GuardedSenderOptions, type OutboundLookup } from "../../src/outbound/guarded-sender.js";
import { OutboundError, type OutboundSend } from "../../src/outbound/outbound.js";
import * as endpoints from "../../test-support/unanswering-endpoints.js";
import {
  answerJson,
  closeSocket,
  endlessBody,
  hang,
  redirectTo,
  startFakeVendor,
  startSilentListener,
  type FakeVendor,
  type VendorHandler,
} from "../../test-support/fake-vendor.js";
import { loopbackOnlySockets, type LoopbackOnlySockets } from "./loopback-only-sockets.js";

let vendor: FakeVendor;
let plainVendor: FakeVendor;
let sockets: LoopbackOnlySockets;

beforeAll(async () => {
  vendor = await startFakeVendor({ names: ["vendor.test"] });
  plainVendor = await startFakeVendor({ tls: false });
  sockets = loopbackOnlySockets();
});
afterAll(async () => {
  sockets.restore();
  await vendor.close();
  await plainVendor.close();
});
beforeEach(() => {
  sockets.reset();
  vendor.requests.length = 0;
  plainVendor.requests.length = 0;
});

/** A sender that lets the vendor's 127.0.0.1:port through and trusts its CA. */
function vendorSender(options: Partial<Parameters<typeof guardedSender>[0]> = {}): OutboundSend {
  return guardedSender({ allowedHosts: [vendor.host], ca: vendor.caPem, ...options });
}

/** The OutboundError a send fails with (the test fails if it succeeds or fails otherwise). */
async function failure(sending: Promise<unknown>): Promise<OutboundError> {
  const error = await sending.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OutboundError);
  return error as OutboundError;
}

/** Resolves every name to `addresses`, counting the calls. */
function resolvingTo(...answers: string[][]) {
  let call = 0;
  return vi.fn<OutboundLookup>((_hostname) => {
    const answer = answers[Math.min(call++, answers.length - 1)] ?? [];
    return Promise.resolve(answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));
  });
}

describe("guarded sender: a vendor over TLS", () => {
  it("sends the request and returns the answer, over TLS verified with the vendor's CA", async () => {
    vendor.on("POST /oauth2/token", answerJson(200, { access_token: "abc" }, { "x-vendor": "one" }));
    const answer = await vendorSender()({
      method: "POST",
      url: vendor.url("/oauth2/token?grant=password"),
      headers: { "content-type": "application/json", authorization: "Basic c2VjcmV0" },
      body: '{"username":"u"}',
    });
    expect(answer).toMatchObject({ status: 200, body: '{"access_token":"abc"}', truncated: false });
    expect(answer.headers).toMatchObject({ "content-type": "application/json", "x-vendor": "one" });
    expect(vendor.requests).toEqual([
      expect.objectContaining({
        method: "POST",
        path: "/oauth2/token?grant=password",
        body: '{"username":"u"}',
        // No keep-alive: the next request opens (and checks) a connection of its own.
        headers: expect.objectContaining({ authorization: "Basic c2VjcmV0", connection: "close" }) as unknown,
      }),
    ]);
    expect(sockets.attempts).toEqual([{ module: "tls", host: "127.0.0.1", port: vendor.port }]);
  });

  it("fails as unreachable when the vendor drops the connection without answering", async () => {
    vendor.on("GET /drop", closeSocket());
    const error = await failure(vendorSender()({ method: "GET", url: vendor.url("/drop") }));
    expect(error).toMatchObject({ reason: "unreachable", message: `${vendor.host} could not be reached` });
  });

  it("returns a redirect as it came and does not follow it (not to 127.0.0.2, not anywhere)", async () => {
    vendor.on("GET /moved", redirectTo(`https://127.0.0.2:${vendor.port}/elsewhere`, 307));
    const answer = await vendorSender()({ method: "GET", url: vendor.url("/moved") });
    expect(answer.status).toBe(307);
    expect(answer.headers.location).toBe(`https://127.0.0.2:${vendor.port}/elsewhere`);
    expect(vendor.requests.map((r) => r.path)).toEqual(["/moved"]);
    expect(sockets.attempts).toHaveLength(1);
  });
});

describe("guarded sender: time and size", () => {
  it("gives up on a vendor that never answers, as a timeout, when the request's time is up", async () => {
    vendor.on("GET /slow", hang());
    const started = Date.now();
    const error = await failure(vendorSender({ timeoutMs: 60_000 })({ method: "GET", url: vendor.url("/slow"), timeoutMs: 400 }));
    const elapsed = Date.now() - started;
    expect(error).toMatchObject({ reason: "timeout", message: `${vendor.host} did not answer in time` });
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(5_000);
  });

  it("gives up on a vendor that never answers after the sender's own timeout when the request names none", async () => {
    vendor.on("GET /slow", hang());
    const started = Date.now();
    const error = await failure(vendorSender({ timeoutMs: 400 })({ method: "GET", url: vendor.url("/slow") }));
    expect(error.reason).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("gives up on a TLS handshake that never finishes after the connect timeout", async () => {
    const silent = await startSilentListener();
    try {
      const started = Date.now();
      const send = guardedSender({ allowedHosts: [silent.host], connectTimeoutMs: 300, timeoutMs: 60_000 });
      const error = await failure(send({ method: "GET", url: silent.url("/") }));
      // The same words as an answer that never came: a connect timeout names no code (UND_ERR_CONNECT_TIMEOUT).
      expect(error).toMatchObject({ reason: "timeout", message: `${silent.host} did not answer in time` });
      expect(silent.connections()).toBe(1);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  });

  it("keeps a timeout when the vendor stops sending halfway through the body", async () => {
    vendor.on("GET /half", (_request, response) => {
      response.writeHead(200, { "content-length": "100" });
      response.write("x".repeat(10));
    });
    const error = await failure(vendorSender({ timeoutMs: 400 })({ method: "GET", url: vendor.url("/half") }));
    expect(error.reason).toBe("timeout");
  });

  it("reads an endless body up to the cap, then stops and says it was cut", async () => {
    vendor.on("GET /endless", endlessBody());
    const answer = await vendorSender({ maxResponseBytes: 100_000, timeoutMs: 60_000 })({ method: "GET", url: vendor.url("/endless") });
    expect(answer.status).toBe(200);
    expect(answer.truncated).toBe(true);
    expect(answer.body).toBe("x".repeat(100_000));
  });

  it("reads the default 64 KiB of a long body", async () => {
    vendor.on("GET /long", answerText("y".repeat(200_000)));
    const answer = await vendorSender()({ method: "GET", url: vendor.url("/long") });
    expect(answer).toMatchObject({ truncated: true });
    expect(answer.body).toHaveLength(64 * 1024);
  });

  it("returns a body of exactly the cap whole, and one byte more cut", async () => {
    vendor.on("GET /exact", answerText("z".repeat(1000)));
    vendor.on("GET /over", answerText("z".repeat(1001)));
    const send = vendorSender({ maxResponseBytes: 1000 });
    expect(await send({ method: "GET", url: vendor.url("/exact") })).toMatchObject({ body: "z".repeat(1000), truncated: false });
    expect(await send({ method: "GET", url: vendor.url("/over") })).toMatchObject({ body: "z".repeat(1000), truncated: true });
  });

  it("does not return half a character where the cap cuts one", async () => {
    vendor.on("GET /euro", answerText("€€")); // 3 bytes each
    const answer = await vendorSender({ maxResponseBytes: 4 })({ method: "GET", url: vendor.url("/euro") });
    expect(answer).toMatchObject({ body: "€", truncated: true });
  });
});

describe("guarded sender: plain http", () => {
  it("refuses http to a host that is not allowed, before any socket opens", async () => {
    sockets.refuseAll();
    const lookup = resolvingTo(["127.0.0.1"]);
    const error = await failure(guardedSender({ allowedHosts: [], lookup })({ method: "GET", url: plainVendor.url("/") }));
    expect(error.reason).toBe("address-not-allowed");
    expect(error.message).toContain("only https");
    expect(lookup).not.toHaveBeenCalled();
    expect(sockets.attempts).toEqual([]);
    expect(plainVendor.requests).toEqual([]);
  });

  it("refuses http to a public-looking name too: allowed hosts are the only way to plain http", async () => {
    sockets.refuseAll();
    const error = await failure(guardedSender({ allowedHosts: [vendor.host] })({ method: "GET", url: new URL("http://vendor.example/") }));
    expect(error.reason).toBe("address-not-allowed");
    expect(sockets.attempts).toEqual([]);
  });

  it("sends over http to an allowed host", async () => {
    plainVendor.on("GET /health", answerJson(200, { ok: true }));
    const answer = await guardedSender({ allowedHosts: [plainVendor.host] })({ method: "GET", url: plainVendor.url("/health") });
    expect(answer).toMatchObject({ status: 200, body: '{"ok":true}' });
    expect(sockets.attempts).toEqual([{ module: "net", host: "127.0.0.1", port: plainVendor.port }]);
  });
});

describe("guarded sender: refused addresses", () => {
  it.each([
    ["127.0.0.2", () => `https://127.0.0.2:${vendor.port}/`],
    ["127.0.0.1", () => `https://127.0.0.1:${vendor.port}/`],
    ["[::1]", () => `https://[::1]:${vendor.port}/`],
    ["::ffff:127.0.0.1", () => `https://[::ffff:127.0.0.1]:${vendor.port}/`],
  ])("refuses the address literal %s as not allowed, before any socket opens", async (_name, url) => {
    sockets.refuseAll();
    const lookup = resolvingTo(["127.0.0.1"]);
    const target = new URL(url());
    const error = await failure(guardedSender({ allowedHosts: [], ca: vendor.caPem, lookup })({ method: "GET", url: target }));
    expect(error).toMatchObject({
      reason: "address-not-allowed",
      message: `the address ${target.host} is not allowed: requests go to public addresses only`,
    });
    expect(lookup).not.toHaveBeenCalled();
    expect(sockets.attempts).toEqual([]);
  });

  it("refuses an allowed host on another port than the one listed", async () => {
    sockets.refuseAll();
    const otherPort = vendor.port === 65535 ? 1 : vendor.port + 1;
    const error = await failure(vendorSender()({ method: "GET", url: new URL(`https://127.0.0.1:${otherPort}/`) }));
    expect(error.reason).toBe("address-not-allowed");
    expect(sockets.attempts).toEqual([]);
  });

  it.each([
    ["a private address", ["10.0.0.1"]],
    ["the cloud metadata address", ["169.254.169.254"]],
    ["an IPv4-mapped private address", ["::ffff:192.168.0.10"]],
    ["a unique-local IPv6 address", ["fd00::10"]],
    ["loopback beside another refused address", ["127.0.0.2", "172.16.0.1"]],
    ["loopback, as localhost does", ["127.0.0.1", "::1"]],
  ])("fails a name that resolves to %s as unreachable: the resolver is asked, no socket opens", async (_name, addresses) => {
    sockets.refuseAll();
    const lookup = resolvingTo(addresses);
    const error = await failure(
      guardedSender({ allowedHosts: [], lookup })({ method: "POST", url: new URL("https://internal.test/hook?token=s3cret"), body: "{}" }),
    );
    expect(error).toMatchObject({ reason: "unreachable", message: "internal.test could not be reached" });
    expect(lookup).toHaveBeenCalledWith("internal.test");
    expect(sockets.attempts).toEqual([]);
  });

  it("refuses a URL with a user name or password without repeating either", async () => {
    sockets.refuseAll();
    const error = await failure(vendorSender()({ method: "GET", url: new URL(`https://admin:hunter2@${vendor.host}/`) }));
    expect(error.reason).toBe("address-not-allowed");
    expect(error.message).not.toMatch(/admin|hunter2/);
    expect(sockets.attempts).toEqual([]);
  });

  it("checks the address each connection is made to, not an earlier answer (DNS rebinding)", async () => {
    // The first answer is the vendor's own listed address; the second, for the next connection, is not.
    vendor.on("GET /ping", answerJson(200, { pong: true }));
    const lookup = resolvingTo(["127.0.0.1"], ["127.0.0.2"]);
    const send = vendorSender({ lookup });
    const url = new URL(`https://vendor.test:${vendor.port}/ping`);
    expect(await send({ method: "GET", url })).toMatchObject({ status: 200 });
    const error = await failure(send({ method: "GET", url }));
    expect(error).toMatchObject({ reason: "unreachable", message: `vendor.test:${vendor.port} could not be reached` });
    expect(lookup).toHaveBeenCalledTimes(2);
    expect(sockets.attempts).toHaveLength(1);
    expect(vendor.requests).toHaveLength(1);
  });

  it("connects to the address it checked and to no other, resolving once per connection", async () => {
    vendor.on("GET /ping", answerJson(200, { pong: true }));
    // A guard that checked one answer and then let Node resolve the name again would get the second.
    const lookup = resolvingTo(["127.0.0.1"], ["127.0.0.2"]);
    expect(await vendorSender({ lookup })({ method: "GET", url: new URL(`https://vendor.test:${vendor.port}/ping`) })).toMatchObject({
      status: 200,
    });
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(vendor.requests).toHaveLength(1);
  });

  it("refuses a connection that reached another address than the one checked", async () => {
    // The guard checks 127.0.0.3 (listed on the vendor's port); the socket is diverted to the vendor's 127.0.0.1.
    vendor.on("GET /ping", answerJson(200, { pong: true }));
    sockets.divertTo("127.0.0.1");
    const lookup = resolvingTo(["127.0.0.3"]);
    const send = guardedSender({ allowedHosts: [`127.0.0.3:${vendor.port}`], ca: vendor.caPem, lookup });
    const error = await failure(send({ method: "GET", url: new URL(`https://vendor.test:${vendor.port}/ping`) }));
    expect(error).toMatchObject({ reason: "unreachable", message: `vendor.test:${vendor.port} could not be reached` });
    expect(sockets.attempts).toHaveLength(1);
    expect(vendor.requests).toEqual([]);
  });

  it("fails as a timeout when resolving the name takes longer than the connect timeout", async () => {
    sockets.refuseAll();
    const lookup = vi.fn<OutboundLookup>(() => new Promise(() => undefined));
    const error = await failure(vendorSender({ lookup, connectTimeoutMs: 200 })({ method: "GET", url: new URL("https://stuck.test/") }));
    expect(error).toMatchObject({ reason: "timeout", message: "stuck.test did not answer in time" });
    expect(sockets.attempts).toEqual([]);
  });
});

describe("guarded sender: refusals that tell nothing of what answered", () => {
  /** The error as a caller sees it: class, reason and message, host written as `<host>`. */
  const seen = (error: OutboundError, host: string) => ({
    name: error.name,
    reason: error.reason,
    message: error.message.replaceAll(host, "<host>"),
  });

  async function sendTo(endpoint: endpoints.Endpoint, trust = true): Promise<OutboundError> {
    const send = guardedSender({ allowedHosts: [endpoint.host], ...(trust && endpoint.caPem ? { ca: endpoint.caPem } : {}) });
    return failure(send({ method: "GET", url: endpoint.url("/me") }));
  }

  const closedPort = async (): Promise<endpoints.Endpoint> => {
    const closed = await endpoints.plaintextHttp();
    await closed.close();
    return closed;
  };

  it.each<[string, { given: () => Promise<endpoints.Endpoint> }]>([
    ["a port nothing listens on (ECONNREFUSED)", { given: closedPort }],
    ["a plaintext HTTP server (ERR_SSL_WRONG_VERSION_NUMBER)", { given: endpoints.plaintextHttp }],
    ["a port that resets the connection (ECONNRESET)", { given: endpoints.resetting }],
    ["a port that speaks SSH", { given: endpoints.sshBanner }],
    ["a TLS server that answers no HTTP (HPE_INVALID_CONSTANT)", { given: endpoints.tlsSpeakingNoHttp }],
    ["a TLS server that speaks only TLS 1.1 (handshake failure)", { given: endpoints.tlsTooOld }],
    ["a TLS server that wants a client certificate", { given: endpoints.tlsWantingClientCertificate }],
  ])("fails on %s as unreachable, in the one message, no error code", async (_name, { given }) => {
    const endpoint = await given();
    try {
      const error = await sendTo(endpoint);
      expect(seen(error, endpoint.host)).toEqual({ name: "OutboundError", reason: "unreachable", message: "<host> could not be reached" });
    } finally {
      await endpoint.close();
    }
  });

  it("gives byte-identical errors for a plaintext HTTP server and a refused port at one URL", async () => {
    const endpoint = await endpoints.plaintextHttp();
    const spokenToOverHttps = await sendTo(endpoint);
    await endpoint.close();
    const refused = await sendTo(endpoint);
    expect(String(refused)).toBe(`OutboundError: ${endpoint.host} could not be reached`);
    expect([spokenToOverHttps.reason, String(spokenToOverHttps)]).toEqual([refused.reason, String(refused)]);
  });

  type CertificateCase = { url: URL; sender: GuardedSenderOptions; close?: () => Promise<void> };
  it.each<[string, { given: () => Promise<CertificateCase> }]>([
    [
      "from a CA the client does not know (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
      { given: () => Promise.resolve({ url: vendor.url("/me"), sender: { allowedHosts: [vendor.host] } }) },
    ],
    [
      "for another name (ERR_TLS_CERT_ALTNAME_INVALID)",
      {
        given: () =>
          Promise.resolve({
            url: new URL(`https://impostor.test:${vendor.port}/me`),
            sender: { allowedHosts: [vendor.host], ca: vendor.caPem, lookup: resolvingTo(["127.0.0.1"]) },
          }),
      },
    ],
    [
      "that signed itself (DEPTH_ZERO_SELF_SIGNED_CERT)",
      {
        given: async () => {
          const endpoint = await endpoints.selfSigned();
          return { url: endpoint.url("/me"), sender: { allowedHosts: [endpoint.host] }, close: () => endpoint.close() };
        },
      },
    ],
    [
      "that has expired, though trusted (CERT_HAS_EXPIRED)",
      {
        given: async () => {
          const endpoint = await endpoints.selfSigned({ expired: true });
          return { url: endpoint.url("/me"), sender: { allowedHosts: [endpoint.host], ca: endpoint.caPem }, close: () => endpoint.close() };
        },
      },
    ],
  ])("fails on a certificate %s as tls, sending nothing", async (_name, { given }) => {
    vendor.on("GET /me", answerJson(200, {}));
    const { url, sender, close } = await given();
    try {
      const error = await failure(guardedSender(sender)({ method: "GET", url }));
      expect(seen(error, url.host)).toEqual({
        name: "OutboundError",
        reason: "tls",
        message: "<host> refused: its TLS certificate is not trusted",
      });
      expect(vendor.requests).toEqual([]);
    } finally {
      await close?.();
    }
  });

  const nameError = (code: string) => Object.assign(new Error(`getaddrinfo ${code} internal.test`), { code });
  it("gives byte-identical errors for a name that resolves privately and names that do not resolve", async () => {
    sockets.refuseAll();
    const lookups: [string, OutboundLookup][] = [
      ["a private address", resolvingTo(["10.1.2.3"])],
      ["the cloud metadata address beside a public one", resolvingTo(["93.184.215.14", "169.254.169.254"])],
      ["NXDOMAIN (ENOTFOUND)", () => Promise.reject(nameError("ENOTFOUND"))],
      ["no address of any family (ENODATA)", () => Promise.reject(nameError("ENODATA"))],
      ["a resolver that fails (EAI_AGAIN)", () => Promise.reject(nameError("EAI_AGAIN"))],
      ["an empty answer", resolvingTo([])],
    ];
    const url = new URL("https://internal.test/hook?token=s3cret");
    const errors = await Promise.all(
      lookups.map(([, lookup]) => failure(guardedSender({ allowedHosts: [], lookup })({ method: "GET", url }))),
    );
    const seenByName = errors.map((error, index) => [lookups[index]![0], error.reason, String(error)]);
    expect(seenByName).toEqual(lookups.map(([name]) => [name, "unreachable", "OutboundError: internal.test could not be reached"]));
    expect(sockets.attempts).toEqual([]);
  });
});

function answerText(text: string): VendorHandler {
  return (_request, response) => {
    response.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(text);
  };
}
