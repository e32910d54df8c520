// The fake vendor itself, checked with Node's own https client (not the guard under test): its
// certificate is trusted with its CA and refused without, routes answer what they script, and
// requests are recorded; what no route takes goes to the one handler, whose answer is sent as JSON.
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import {
  answerJson,
  freshserviceAnswer,
  goodPassword,
  redirectTo,
  startFakeVendor,
  startSilentListener,
  type FakeVendor,
} from "./fake-vendor.js";

function get(url: URL, ca: string | undefined, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: body === undefined ? "GET" : "POST", ca, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("fake vendor", () => {
  let vendor: FakeVendor | undefined;
  afterEach(async () => {
    await vendor?.close();
    vendor = undefined;
  });

  it("answers a scripted route over TLS that its CA vouches for, and records the request", async () => {
    vendor = await startFakeVendor();
    vendor.on("POST /token", answerJson(201, { access_token: "t" }));
    const answer = await get(vendor.url("/token?x=1"), vendor.caPem, "grant_type=password");
    expect(answer).toMatchObject({ status: 201, body: '{"access_token":"t"}' });
    expect(vendor.requests).toEqual([expect.objectContaining({ method: "POST", path: "/token?x=1", body: "grant_type=password" })]);
    expect(vendor.host).toBe(`127.0.0.1:${vendor.port}`);
  });

  it("is not trusted without its CA", async () => {
    vendor = await startFakeVendor();
    await expect(get(vendor.url("/"), undefined)).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("is trusted under localhost and the extra names it is given", async () => {
    vendor = await startFakeVendor({ names: ["vendor.test"] });
    const port = vendor.port;
    const caPem = vendor.caPem;
    for (const servername of ["localhost", "vendor.test"]) {
      const authorized = await new Promise<boolean>((resolve, reject) => {
        const socket = tlsConnect({ host: "127.0.0.1", port, servername, ca: caPem }, () => {
          resolve(socket.authorized);
          socket.destroy();
        });
        socket.on("error", reject);
      });
      expect(authorized, servername).toBe(true);
    }
  });

  it("answers 404 for a route it was not given, and redirects where told", async () => {
    vendor = await startFakeVendor();
    vendor.on("GET /moved", redirectTo("https://127.0.0.2/elsewhere"));
    expect((await get(vendor.url("/nowhere"), vendor.caPem)).status).toBe(404);
    const moved = await get(vendor.url("/moved"), vendor.caPem);
    expect(moved).toMatchObject({ status: 302, headers: { location: "https://127.0.0.2/elsewhere" } });
  });

  it("sends what no route takes to its handler, which may be replaced, and records the host the request was meant for", async () => {
    vendor = await startFakeVendor({ tls: false, handle: freshserviceAnswer });
    const agent = (password: string) =>
      fetch(vendor!.url("/api/v2/agents/me"), {
        headers: { authorization: `Basic ${Buffer.from(`a:${password}`).toString("base64")}`, "x-original-host": "acme.freshservice.com" },
      });
    expect((await agent(goodPassword)).status).toBe(200);
    expect((await agent("wrong")).status).toBe(401);
    vendor.handle = () => Promise.resolve({ status: 503, body: { message: "maintenance" } });
    const down = await agent(goodPassword);
    expect({ status: down.status, body: await down.json() }).toEqual({ status: 503, body: { message: "maintenance" } });
    expect(vendor.origin).toBe(`http://127.0.0.1:${vendor.port}`);
    expect(vendor.requests.map((r) => r.host)).toEqual(Array(3).fill("acme.freshservice.com"));
  });

  it("a silent listener accepts a connection and never finishes a TLS handshake", async () => {
    const silent = await startSilentListener();
    try {
      const outcome = await new Promise<string>((resolve) => {
        const socket = tlsConnect({ host: "127.0.0.1", port: Number(silent.url("/").port), servername: "localhost" }, () =>
          resolve("handshake"),
        );
        socket.on("error", () => resolve("error"));
        setTimeout(() => {
          socket.destroy();
          resolve("still waiting");
        }, 300);
      });
      expect(outcome).toBe("still waiting");
      expect(silent.connections()).toBe(1);
    } finally {
      await silent.close();
    }
  });
});
