// Fake vendors for the provisioning tests, on 127.0.0.1 only, and the sender that reaches them.
// The server builds the vendors' real URLs (https://acme.freshservice.com/api/v2/agents/me);
// `loopbackSender` sends each to the fake on 127.0.0.1 instead, over plain HTTP, naming the
// original host in `x-original-host`, so no test can reach another machine even by mistake. It
// refuses hosts a guard would refuse (loopback or private names in the URL) without connecting.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { OutboundError, type OutboundSend } from "../../src/outbound/outbound.js";

export interface RecordedRequest {
  method: string;
  host: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface FakeAnswer {
  status: number;
  body: unknown;
}

/** Answers a request; undefined: never answer (a vendor that hangs). */
export type FakeHandler = (request: RecordedRequest) => FakeAnswer | undefined | Promise<FakeAnswer | undefined>;

export interface FakeVendor {
  port: number;
  requests: RecordedRequest[];
  handle: FakeHandler;
  stop(): Promise<void>;
}

export async function startFakeVendor(handle: FakeHandler): Promise<FakeVendor> {
  const vendor: FakeVendor = { port: 0, requests: [], handle, stop: () => Promise.resolve() };
  const hanging = new Set<IncomingMessage>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded: RecordedRequest = {
        method: req.method ?? "",
        host: String(req.headers["x-original-host"] ?? ""),
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      vendor.requests.push(recorded);
      void Promise.resolve(vendor.handle(recorded)).then((answer) => {
        if (!answer) {
          hanging.add(req);
          return;
        }
        res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  vendor.port = (server.address() as AddressInfo).port;
  vendor.stop = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return vendor;
}

// Names a guard refuses: loopback, private and link-local, by name or literal address.
const refusedHost = /^(localhost|127\.|10\.|192\.168\.|169\.254\.|\[)/;

/** Sends every request to the fake vendor on 127.0.0.1:`port`, whatever host its URL names. */
export function loopbackSender(port: () => number): OutboundSend {
  return async (request) => {
    if (refusedHost.test(request.url.host)) {
      throw new OutboundError("address-not-allowed", `${request.url.hostname} resolves to a loopback or private address`);
    }
    const target = new URL(`${request.url.pathname}${request.url.search}`, `http://127.0.0.1:${port()}`);
    if (target.hostname !== "127.0.0.1") throw new Error("the test sender only talks to 127.0.0.1");
    try {
      const response = await fetch(target, {
        method: request.method,
        headers: { ...request.headers, "x-original-host": request.url.host },
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: AbortSignal.timeout(request.timeoutMs ?? 10_000),
        redirect: "manual",
      });
      return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text(), truncated: false };
    } catch (error) {
      if ((error as Error).name === "TimeoutError") throw new OutboundError("timeout", `${request.url.host} did not answer in time`);
      throw new OutboundError("unreachable", `${request.url.host} cannot be reached`);
    }
  };
}

export const goodPassword = "g00d-Passw0rd";

/** Freshservice's GET /api/v2/agents/me: accepts the good password, refuses any other as Freshservice does. */
export function freshserviceAnswer(request: RecordedRequest): FakeAnswer {
  const [, credentials = ""] = /^Basic (.+)$/.exec(String(request.headers.authorization ?? "")) ?? [];
  const [, password] = Buffer.from(credentials, "base64").toString("utf8").split(":");
  if (request.path === "/api/v2/agents/me" && password === goodPassword) return { status: 200, body: { agent: { id: 1 } } };
  return { status: 401, body: { code: "access_denied", message: "You are not authorized to perform this action." } };
}

/** SugarCRM's /rest/v10/oauth2/token: the password grant and the refresh-token grant, tokens it remembers. */
export function fakeSugarcrm(options: { expiresIn: number }) {
  const refreshTokens = new Set<string>();
  const issued: { accessToken: string; refreshToken: string }[] = [];
  const issue = (): FakeAnswer => {
    const tokens = { accessToken: randomBytes(12).toString("hex"), refreshToken: randomBytes(12).toString("hex") };
    issued.push(tokens);
    refreshTokens.add(tokens.refreshToken);
    return {
      status: 200,
      body: { access_token: tokens.accessToken, refresh_token: tokens.refreshToken, expires_in: options.expiresIn, token_type: "bearer" },
    };
  };
  return {
    issued,
    /** Makes every refresh token issued so far unusable (an administrator revoked the sessions). */
    revokeAll: () => refreshTokens.clear(),
    answer(request: RecordedRequest): FakeAnswer {
      const grant = JSON.parse(request.body || "{}") as Record<string, string>;
      if (request.path !== "/rest/v10/oauth2/token") return { status: 404, body: { error: "not_found" } };
      if (grant.grant_type === "password") {
        return grant.password === goodPassword
          ? issue()
          : { status: 401, body: { error: "need_login", error_message: "You must specify a valid username and password." } };
      }
      if (grant.grant_type === "refresh_token" && refreshTokens.delete(grant.refresh_token ?? "")) return issue();
      return { status: 400, body: { error: "invalid_grant", error_message: "Invalid refresh token" } };
    },
  };
}
