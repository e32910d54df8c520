// Slow and greedy clients cannot hold the server: a request trickled in byte by byte is cut with
// a 408 Problem when its time is up, idle connections are closed, connections beyond the cap are
// refused, and the server serves others all along. Real sockets against the real server, with
// the limits shortened so that the test takes seconds.
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultHttpLimits, embeddedConfig, readConfig } from "../../src/config.js";
import { startServer, type RunningServer } from "../../src/server.js";

let server: RunningServer;
let dataDir: string;
let authorization = "";
const limits = { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, keepAliveTimeoutMs: 500, maxConnections: 20, idleTimeoutMs: 1_500 };

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "slow-clients-"));
  server = await startServer({
    config: embeddedConfig(dataDir, { http: limits, logLevel: "silent" }),
    announce: (line) => (authorization = /Authorization: (.*)$/.exec(line)?.[1] ?? ""),
  });
});
afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Conversation {
  socket: Socket;
  received: () => string;
  /** Resolves with the milliseconds from opening until the server closed the connection. */
  closed: Promise<number>;
}

function open(): Promise<Conversation> {
  const { port } = new URL(server.url);
  const started = Date.now();
  const socket = connect(Number(port), "127.0.0.1");
  let received = "";
  socket.on("data", (chunk) => (received += chunk.toString()));
  socket.on("error", () => undefined); // a reset is one of the ways a refused connection ends
  const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(Date.now() - started)));
  return new Promise((resolve) => socket.on("connect", () => resolve({ socket, received: () => received, closed })));
}

/** Writes one character at a time, every `everyMs`, until the connection is closed. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || at >= text.length) return clearInterval(timer);
    socket.write(text[at++]!);
  }, everyMs);
  socket.on("close", () => clearInterval(timer));
}

const healthy = async () => (await fetch(`${server.url}/healthz`)).status;

describe("a slow client", () => {
  it("trickling a body is cut with a 408 Problem once the request timeout passes", async () => {
    const body = JSON.stringify({ your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "slow" });
    const c = await open();
    c.socket.write(
      `POST /your_moms/api-v2/instances HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    trickle(c.socket, body, 300); // the whole body would take about 25 s
    expect(await healthy()).toBe(200); // others are served meanwhile
    const elapsed = await c.closed;
    const seen = `after ${elapsed} ms the server sent: ${JSON.stringify(c.received().slice(0, 300))}`;
    expect(elapsed, seen).toBeLessThan(limits.requestTimeoutMs + 6_000);
    expect(c.received(), seen).toMatch(/^HTTP\/1\.1 408 Request timeout\r\n/);
    expect(c.received()).toContain("Content-Type: application/problem+json");
    const problem = JSON.parse(c.received().split("\r\n\r\n")[1]!) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 408, type: "urn:instances-api:problem:request-timeout" });
    // Nothing was created from the half-sent body.
    const list = (await (await fetch(`${server.apiUrl}/instances`, { headers: { Authorization: authorization } })).json()) as unknown[];
    expect(list).toEqual([]);
  });

  it("trickling headers is cut once the headers timeout passes", async () => {
    const c = await open();
    trickle(c.socket, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`, 100);
    const elapsed = await c.closed;
    expect(elapsed).toBeLessThan(limits.headersTimeoutMs + 6_000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe("a greedy client", () => {
  it("cannot hold more connections than the cap, and idle ones are closed", async () => {
    const conversations = await Promise.all(Array.from({ length: limits.maxConnections + 10 }, () => open()));
    // The ten beyond the cap are refused at once; the rest, which never send a byte, go when the
    // headers timeout passes.
    const refusedSoon = await Promise.all(
      conversations.map((c) => Promise.race([c.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 800))])),
    );
    expect(refusedSoon.filter(Boolean).length).toBeGreaterThanOrEqual(10);
    const closedAfter = await Promise.all(conversations.map((c) => c.closed));
    expect(Math.max(...closedAfter)).toBeLessThan(limits.headersTimeoutMs + 6_000);
    expect(await healthy()).toBe(200);
  });

  it("has an idle keep-alive connection closed after the keep-alive timeout", async () => {
    const c = await open();
    c.socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const elapsed = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200 /);
    expect(elapsed).toBeLessThan(limits.keepAliveTimeoutMs + 6_000);
  });
});

describe("a client that stops reading", () => {
  it("has its connection closed once nothing moved for the idle timeout, whatever it asked for", async () => {
    const page = (await (await fetch(`${server.url}/docs/`)).arrayBuffer()).byteLength;
    const c = await open();
    // Twenty copies of the docs page, asked for at once and then not read: more than every buffer
    // between the two ends holds, so the server's writes stall.
    c.socket.pause();
    c.socket.write("GET /docs/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(20));
    await new Promise((resolve) => setTimeout(resolve, limits.idleTimeoutMs + 2_500));
    // Reading again drains what the buffers held. A cut connection then ends, short of the twenty
    // pages; one still open would go on to deliver them all.
    let received = 0;
    c.socket.on("data", (chunk: Buffer) => (received += chunk.length));
    c.socket.resume();
    const closed = await Promise.race([
      c.closed.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 8_000)),
    ]);
    c.socket.destroy();
    expect(closed).toBe(true);
    expect(received).toBeLessThan(20 * page);
    expect(await healthy()).toBe(200);
  });
});

describe("the HTTP limits' configuration", () => {
  it("defaults to a 10 s headers and 30 s request timeout, 5 s keep-alive, 1,000 connections", () => {
    expect(readConfig({}).http).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1_000,
      idleTimeoutMs: 30_000,
    });
    expect(readConfig({}).http).toEqual(defaultHttpLimits);
  });

  it.each([
    [{ HTTP_REQUEST_TIMEOUT_MS: "30s" }, 'HTTP_REQUEST_TIMEOUT_MS must be a positive whole number, not "30s"'],
    [{ HTTP_MAX_CONNECTIONS: "0" }, 'HTTP_MAX_CONNECTIONS must be a positive whole number, not "0"'],
    [{ HTTP_HEADERS_TIMEOUT_MS: "60000" }, "HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS"],
  ])("refuses %o", (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });
});
