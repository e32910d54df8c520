// PROXY_BUFFERED_MAX_BYTES: the bytes of proxied bodies one replica reads whole and holds, across
// every organization (Taxify's bodies, which the key is put in, here; in the sandbox, so nothing
// is sent anywhere). Many tenants each within their own caps cannot hold the replica's memory: a
// call past the budget gets 503 with Retry-After, one past its organization's quarter of it 429,
// and the bytes come back when a call ends, also when its caller goes away mid-body.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultProxy } from "../../src/config.js";
import { bufferBudget, OrganizationBuffersFullError, ProxyBuffersFullError, type BufferHolder } from "../../src/proxy/buffer-budget.js";
import { body, startTestServer, type TestServer } from "../harness.js";

describe("the budget itself", () => {
  it("lends bytes until the budget is spent, and takes each call's back once", () => {
    const budget = bufferBudget(400);
    const [first, second, third, fourth] = [1, 2, 3, 4].map((organization) => budget.holder(organization)) as [
      BufferHolder,
      BufferHolder,
      BufferHolder,
      BufferHolder,
    ];
    first.take(100);
    second.take(100);
    third.take(100);
    expect(() => fourth.take(101)).toThrow(ProxyBuffersFullError);
    fourth.take(100);
    expect(budget.held).toBe(400);
    first.release();
    first.release(); // a second release gives nothing back twice
    expect(budget.held).toBe(300);
    fourth.release();
    second.release();
    third.release();
    expect(budget.held).toBe(0);
  });

  it("lends one organization a quarter of it at most, across its calls (fixed: one tenant could hold it all)", () => {
    const budget = bufferBudget(400);
    const [a, b] = [budget.holder(1), budget.holder(1)];
    a.take(60);
    expect(() => b.take(41)).toThrow(OrganizationBuffersFullError);
    b.take(40);
    budget.holder(2).take(100); // another organization's quarter is its own
    a.release();
    b.take(60);
    expect(budget.held).toBe(200);
  });
});

describe("a replica's proxied bodies held in memory, across organizations", () => {
  const budget = 100_000;
  let t: TestServer;
  const tenants: { authorization: string; id: number }[] = [];

  beforeAll(async () => {
    t = await startTestServer({ config: { proxy: { ...defaultProxy, bufferedMaxBytes: budget } } });
    for (const name of ["first", "second", "third", "fourth", "fifth"]) {
      const { authorization } = await t.newAccount(name);
      const created = await t.api("/instances", {
        method: "POST",
        headers: { Authorization: authorization },
        json: { your_mom: { key: "taxify" }, configuration: { "api.key": `${name}-key` }, name },
      });
      tenants.push({ authorization, id: (await body<{ id: number }>(created)).id });
    }
  });
  afterAll(() => t?.stop());

  /** A Taxify call whose chunked body starts with `bytes` bytes and then waits for finish(). */
  function heldCall(tenant: (typeof tenants)[number], bytes: number) {
    const { port } = new URL(t.server.url);
    const socket: Socket = connect({ host: "127.0.0.1", port: Number(port) });
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", () => undefined);
    const answer = new Promise<string>((resolve) => socket.on("close", () => resolve(Buffer.concat(received).toString())));
    const start = `{"CalculateTax":{"Note":"${"x".repeat(bytes)}`;
    socket.write(
      `POST ${new URL(t.server.apiUrl).pathname}/instances/${tenant.id}/proxy/CalculateTax HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        `Authorization: ${tenant.authorization}\r\nContent-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${start.length.toString(16)}\r\n${start}\r\n`,
    );
    return {
      answer,
      finish: () => socket.write(`4\r\n"}}\n\r\n0\r\n\r\n`),
      leave: () => socket.destroy(),
    };
  }

  const call = (tenant: (typeof tenants)[number], bytes: number) =>
    t.api(`/instances/${tenant.id}/proxy/CalculateTax`, {
      method: "POST",
      headers: { Authorization: tenant.authorization },
      json: { CalculateTax: { Note: "y".repeat(bytes) } },
    });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200)); // the server reads what was written

  it("answers 503 with Retry-After to a call past the budget, while other organizations' bodies hold it", async () => {
    const holdings = tenants.slice(0, 4).map((tenant) => heldCall(tenant, 24_000)); // each within its quarter
    const fifth = tenants[4]!;
    await settle();
    const refused = await call(fifth, 10_000);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("x-proxied-from")).toBeNull();
    const problem = await body<{ type: string; detail: string }>(refused);
    expect(problem.type).toBe("urn:instances-api:problem:unavailable");
    expect(problem.detail).toContain("PROXY_BUFFERED_MAX_BYTES");
    expect((await call(fifth, 1_000)).status).toBe(200); // small enough to fit beside them

    for (const holding of holdings) holding.finish();
    for (const holding of holdings) expect(await holding.answer).toMatch(/^HTTP\/1\.1 200 /);
    expect((await call(fifth, 20_000)).status).toBe(200); // the bytes came back
  });

  it("answers 429 with Retry-After to an organization past its quarter, while another's call fits", async () => {
    const [first, second] = tenants as [(typeof tenants)[number], (typeof tenants)[number]];
    const holding = heldCall(first, 20_000);
    await settle();
    const refused = await call(first, 10_000);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await body<{ detail: string }>(refused)).detail).toContain("PROXY_BUFFERED_MAX_BYTES");
    expect((await call(second, 20_000)).status).toBe(200);
    holding.finish();
    expect(await holding.answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it("gives the bytes back when the caller goes away mid-body", async () => {
    const [first] = tenants as [(typeof tenants)[number]];
    for (let round = 0; round < 3; round += 1) {
      const holding = heldCall(first, 20_000);
      await settle();
      holding.leave();
      await holding.answer;
      await settle();
    }
    expect((await call(first, 20_000)).status).toBe(200); // past its quarter had one byte stayed
  });
});
