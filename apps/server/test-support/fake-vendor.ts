// A vendor's API for tests: a server on 127.0.0.1, over TLS with a certificate from a throwaway
// CA made for it (or plain HTTP, `tls: false`, for a sender that rewrites every vendor URL to the
// fake), answering what each test scripts and recording what it was sent. Two ways to script it:
// `on("POST /path", handler)` per route, and `handle`, the one handler for every request no route
// takes (SugarCRM's token endpoint and Freshservice's agents/me are ready-made: `fakeSugarcrm`,
// `freshserviceAnswer`). A handler returns an answer to be sent as JSON, or writes the answer
// itself (a hang, a redirect, an endless body, a dropped connection) and returns nothing.
//
// The server's outbound code is pointed at it with OUTBOUND_ALLOWED_HOSTS (`vendor.host`) and
// trusts it through the CA in `vendor.caPem`, which production would get from NODE_EXTRA_CA_CERTS.
// The certificates come from `selfsigned` (pure JavaScript over Node's WebCrypto): no openssl
// binary on PATH, no files on disk, the same on every machine. Nothing here leaves this machine.
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";
import { generate } from "selfsigned";

export interface RecordedRequest {
  method: string;
  /** The host the request was meant for: the sender's `x-original-host` when it names one, else the Host header. */
  host: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An answer the vendor sends as JSON. */
export interface FakeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/**
 * Answers one request, whose body has been read into `request.body` already: returns the answer
 * to send as JSON, or writes it on `response` itself and returns nothing (or never answers: a
 * vendor that hangs).
 */
export type VendorHandler = (
  request: RecordedRequest,
  response: ServerResponse,
) => FakeAnswer | undefined | void | Promise<FakeAnswer | undefined | void>;

/** A handler that writes its answer on the response itself (what the ready-made ones below are; a handler may call one). */
export type WritingHandler = (request: RecordedRequest, response: ServerResponse) => void;

export interface FakeVendor {
  /** `127.0.0.1:port`: the entry for the guard's allowed hosts (OUTBOUND_ALLOWED_HOSTS). */
  host: string;
  port: number;
  /** `https://127.0.0.1:port`, or `http://` for a vendor started with `tls: false`. */
  origin: string;
  url(path: string): URL;
  /** The throwaway CA that signed the vendor's certificate (for `localhost`, the `names` given, 127.0.0.1 and ::1). */
  caPem: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Scripts `"METHOD /path"` (path without the query); a request no route takes goes to `handle`. */
  on(route: string, handler: VendorHandler): void;
  /** Answers every request no route takes; may be replaced at any time. Default: a 404 JSON answer. */
  handle: VendorHandler;
  close(): Promise<void>;
}

export interface FakeVendorOptions {
  /** Plain HTTP instead of HTTPS (for the allowed-hosts case, and senders that rewrite vendor URLs to it). Default: TLS. */
  tls?: boolean;
  /** More DNS names the certificate is valid for, besides `localhost`. */
  names?: readonly string[];
  /** The first `handle`. */
  handle?: VendorHandler;
}

const noSuchRoute: VendorHandler = () => ({ status: 404, body: { error: "no such route" } });

export async function startFakeVendor(options: FakeVendorOptions = {}): Promise<FakeVendor> {
  const { caPem, key, cert } = await throwawayCertificate(options.names ?? []);
  const routes = new Map<string, VendorHandler>();
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const originalHost = request.headers["x-original-host"];
      const recorded: RecordedRequest = {
        method: request.method ?? "",
        host: typeof originalHost === "string" ? originalHost : (request.headers.host ?? ""),
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      vendor.requests.push(recorded);
      const handler = routes.get(`${recorded.method} ${recorded.path.split("?")[0]}`) ?? vendor.handle;
      void Promise.resolve(handler(recorded, response)).then((answer) => answer && sendAnswer(response, answer));
    });
  };
  const tls = options.tls ?? true;
  const server = tls ? createHttpsServer({ key, cert }, listener) : createHttpServer(listener);
  // A client that gives up mid-answer (the guard cutting a body) is expected here.
  server.on("clientError", (_error, socket: Socket) => socket.destroy());
  const port = await listenOnLoopback(server);
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const vendor: FakeVendor = {
    host: `127.0.0.1:${port}`,
    port,
    origin,
    url: (path) => new URL(path, origin),
    caPem,
    requests: [],
    on: (route, handler) => void routes.set(route, handler),
    handle: options.handle ?? noSuchRoute,
    close: () => closeServer(server),
  };
  return vendor;
}

/** Answers `status` with `body` as JSON, written on the response (so a handler may call it and return nothing). */
export function answerJson(status: number, body: unknown, headers: Record<string, string> = {}): WritingHandler {
  return (_request, response) => {
    sendAnswer(response, { status, body, headers });
  };
}

function sendAnswer(response: ServerResponse, answer: FakeAnswer): void {
  response.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(JSON.stringify(answer.body));
}

/** Reads the request and never answers: the connection stays open until the client gives up. */
export function hang(): WritingHandler {
  return () => undefined;
}

/** Answers a redirect to `location`. */
export function redirectTo(location: string, status = 302): WritingHandler {
  return (_request, response) => {
    response.writeHead(status, { location }).end();
  };
}

/** Answers 200 and sends bytes for as long as the client reads them: a body with no end. */
export function endlessBody(): WritingHandler {
  return (_request, response) => {
    const chunk = Buffer.alloc(16 * 1024, "x");
    response.writeHead(200, { "content-type": "text/plain" });
    const pump = () => {
      while (!response.destroyed && response.write(chunk));
    };
    response.on("drain", pump);
    response.on("error", () => undefined);
    pump();
  };
}

/** Drops the connection without answering. */
export function closeSocket(): WritingHandler {
  return (_request, response) => {
    response.socket?.destroy();
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

export const goodTaxifyKey = "g00d-taxify-key";

/**
 * Taxify's JSON service as its public clients read it (spec/connectors/taxify.yaml cites them): a
 * POST to …/<Operation> with the key at <Operation>.Security.Password, answered 200 whatever
 * happened, the verdict in d.ResponseStatus (1: done) and d.Errors.
 */
export function taxifyAnswer(request: RecordedRequest): FakeAnswer {
  const operation = request.path.split("?")[0]!.split("/").at(-1)!;
  let sent: Record<string, { Security?: { Password?: unknown } } | undefined> = {};
  try {
    sent = JSON.parse(request.body) as typeof sent;
  } catch {
    return { status: 500, body: { Message: "There was an error processing the request." } };
  }
  if (sent[operation]?.Security?.Password !== goodTaxifyKey) {
    return { status: 200, body: { d: { ResponseStatus: 0, Errors: [{ Code: "InvalidApiKey", Message: "The API key is not valid." }] } } };
  }
  return { status: 200, body: { d: { ResponseStatus: 1, Errors: [], Codes: [{ Code: "TAXABLE" }] } } };
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

/** A record of the fake SugarCRM's: its id, creation and change times (ISO 8601 with an offset), and any other fields. */
export interface SugarRecord {
  id: string;
  date_entered: string;
  date_modified: string;
  [field: string]: unknown;
}

/**
 * SugarCRM's `GET /rest/v10/<Module>` over records a test keeps and changes (`put`): the filter
 * `filter[0][<field>][$gte]=<date>` (or `$gt`), `order_by` (`field:ASC,...`), `max_num` and `offset`, and
 * the answer `{"next_offset", "records"}` with -1 at the end, as SugarCRM's module GET reference
 * describes it. `pageCap` answers fewer records than asked for (to test paging); `fail` answers a
 * request with the status it returns (a 429 or a 500 midway). The API checks `OAuth-Token`
 * against `accepts`.
 */
export function fakeSugarcrmRecords(options: { accepts: (token: string) => boolean; pageCap?: number }) {
  const modules = new Map<string, Map<string, SugarRecord>>();
  let fail: ((request: RecordedRequest) => number | undefined) | undefined;
  const answer = (request: RecordedRequest): FakeAnswer => {
    if (!options.accepts(String(request.headers["oauth-token"] ?? ""))) {
      return { status: 401, body: { error: "invalid_grant", error_message: "The access token provided is invalid." } };
    }
    const failed = fail?.(request);
    if (failed !== undefined) return { status: failed, body: { error: "unavailable" } };
    const url = new URL(request.path, "https://sugar.test");
    const module = modules.get(decodeURIComponent(url.pathname.replace(/^\/rest\/v10\//, ""))) ?? new Map<string, SugarRecord>();
    let records = [...module.values()];
    for (const [name, value] of url.searchParams) {
      const filter = /^filter\[0\]\[([^\]]+)\]\[\$(gte|gt)\]$/.exec(name);
      if (filter) {
        const [, field = "", operator] = filter;
        const at = Date.parse(value);
        records = records.filter((record) => (operator === "gt" ? timeOf(record[field]) > at : timeOf(record[field]) >= at));
      }
    }
    const order = (url.searchParams.get("order_by") ?? "").split(",").filter(Boolean);
    records.sort((a, b) => {
      for (const term of order) {
        const [field = "", direction = "ASC"] = term.split(":");
        const [x, y] = isDate(a[field]) ? [timeOf(a[field]), timeOf(b[field])] : [String(a[field]), String(b[field])];
        if (x !== y) return (x < y ? -1 : 1) * (direction.toUpperCase() === "DESC" ? -1 : 1);
      }
      return 0;
    });
    const offset = Number(url.searchParams.get("offset") ?? 0);
    const max = Math.min(Number(url.searchParams.get("max_num") ?? 20), options.pageCap ?? Infinity);
    const page = records.slice(offset, offset + max);
    return { status: 200, body: { next_offset: offset + max < records.length ? offset + max : -1, records: page } };
  };
  return {
    answer,
    /** Adds or changes a record of `module`. */
    put(module: string, record: SugarRecord) {
      if (!modules.has(module)) modules.set(module, new Map());
      modules.get(module)!.set(record.id, record);
    },
    /** Answers matching requests with a status instead (undefined: answered as usual). */
    failWith(decide: ((request: RecordedRequest) => number | undefined) | undefined) {
      fail = decide;
    },
  };
}

/** A web logic hook the fake SugarCRM holds, as it was registered. */
export interface SugarHook {
  id: string;
  name: string;
  webhook_target_module: string;
  trigger_event: string;
  request_method: string;
  url: string;
}

/**
 * SugarCRM's WebLogicHooks module over REST v10, as its web logic hooks guide and vardefs describe
 * it: `POST /rest/v10/WebLogicHooks` registers a hook (name, webhook_target_module, trigger_event,
 * request_method, url; at most 255 characters) and answers the record with its id;
 * `DELETE /rest/v10/WebLogicHooks/<id>` removes it (404 for none). `fire` does what Sugar's
 * scheduler does after a save: posts `{"isUpdate", "dataChanges", "bean", "data"}` to each
 * after_save hook of the module. `failWith` answers matching requests with a status instead.
 */
export function fakeSugarcrmHooks(options: { accepts: (token: string) => boolean }) {
  const hooks = new Map<string, SugarHook>();
  let fail: ((request: RecordedRequest) => number | undefined) | undefined;
  let next = 1;
  return {
    hooks,
    /** Whether this answers `request` (a WebLogicHooks path). */
    takes: (request: RecordedRequest) => request.path.split("?")[0]!.startsWith("/rest/v10/WebLogicHooks"),
    answer(request: RecordedRequest): FakeAnswer {
      if (!options.accepts(String(request.headers["oauth-token"] ?? ""))) {
        return { status: 401, body: { error: "invalid_grant", error_message: "The access token provided is invalid." } };
      }
      const failed = fail?.(request);
      if (failed !== undefined) return { status: failed, body: { error: "unavailable" } };
      const path = request.path.split("?")[0]!;
      if (request.method === "POST" && path === "/rest/v10/WebLogicHooks") {
        const sent = JSON.parse(request.body || "{}") as Partial<SugarHook>;
        const fields = ["name", "webhook_target_module", "trigger_event", "request_method", "url"] as const;
        if (fields.some((field) => typeof sent[field] !== "string") || sent.url!.length > 255) {
          return { status: 422, body: { error: "missing_parameter", error_message: "A required field is missing or too long." } };
        }
        const hook = {
          id: `hook-${next++}`,
          ...(Object.fromEntries(fields.map((field) => [field, sent[field]!])) as Omit<SugarHook, "id">),
        };
        hooks.set(hook.id, hook);
        return { status: 200, body: hook };
      }
      const removed = /^\/rest\/v10\/WebLogicHooks\/([^/]+)$/.exec(path);
      if (request.method === "DELETE" && removed) {
        const id = decodeURIComponent(removed[1]!);
        if (!hooks.delete(id)) return { status: 404, body: { error: "not_found", error_message: "Could not find record" } };
        return { status: 200, body: { id } };
      }
      return { status: 404, body: { error: "not_found" } };
    },
    /** Answers matching requests with a status instead (undefined: answered as usual). */
    failWith(decide: ((request: RecordedRequest) => number | undefined) | undefined) {
      fail = decide;
    },
    /** Posts a save of `record` in `module` to each of the module's after_save hooks; their answers' statuses. */
    async fire(module: string, record: SugarRecord, isUpdate: boolean): Promise<number[]> {
      const statuses: number[] = [];
      for (const hook of hooks.values()) {
        if (hook.webhook_target_module !== module || hook.trigger_event !== "after_save") continue;
        const answer = await fetch(hook.url, {
          method: hook.request_method,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ isUpdate, dataChanges: {}, bean: module.replace(/s$/, ""), data: record }),
        });
        await answer.arrayBuffer();
        statuses.push(answer.status);
      }
      return statuses;
    },
  };
}

const timeOf = (value: unknown) => Date.parse(String(value));
const isDate = (value: unknown) => typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value);

/** A ticket of the fake Freshservice's: its id, creation and update times (ISO 8601, UTC, `Z`), and any other fields. */
export interface FreshserviceTicket {
  id: number;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

/**
 * Freshservice's v2 lists (`GET /api/v2/tickets`, `/api/v2/changes`, ...) over records a test keeps
 * and changes (`put`), as spec/connectors/freshservice.yaml cites them: `updated_since` (taken
 * strictly, "after": Freshservice's docs do not say whether its own second is included, so the
 * fake takes the reading that loses most), `order_type` (`asc`, else newest first) over creation
 * time, `page` and `per_page` (at most 100, default 30), the answer `{"<list>": [...]}` and a
 * `Link: <...>; rel="next"` header while a page follows. `pageCap` answers fewer records than
 * asked for (to test paging); `fail` answers a request with the status it returns. Basic
 * authentication with `goodPassword`, as `freshserviceAnswer`; `agents/me` answers the check.
 */
export function fakeFreshserviceLists(options: { pageCap?: number } = {}) {
  const lists = new Map<string, Map<number, FreshserviceTicket>>();
  let fail: ((request: RecordedRequest) => number | undefined) | undefined;
  const answer = (request: RecordedRequest): FakeAnswer => {
    const url = new URL(request.path, "https://freshservice.test");
    const checked = freshserviceAnswer({ ...request, path: "/api/v2/agents/me" });
    if (checked.status !== 200 || url.pathname === "/api/v2/agents/me") return checked;
    const failed = fail?.(request);
    if (failed !== undefined) return { status: failed, body: { code: "unavailable" } };
    const name = decodeURIComponent(url.pathname.replace(/^\/api\/v2\//, ""));
    let records = [...(lists.get(name) ?? new Map<number, FreshserviceTicket>()).values()];
    const since = url.searchParams.get("updated_since");
    if (since !== null) records = records.filter((record) => timeOf(record.updated_at) > Date.parse(since));
    const ascending = url.searchParams.get("order_type") === "asc";
    records.sort((a, b) => (timeOf(a.created_at) - timeOf(b.created_at) || a.id - b.id) * (ascending ? 1 : -1));
    const perPage = Math.min(Number(url.searchParams.get("per_page") ?? 30), 100, options.pageCap ?? Infinity);
    const page = Number(url.searchParams.get("page") ?? 1);
    const shown = records.slice((page - 1) * perPage, page * perPage);
    const next = new URL(url);
    next.searchParams.set("page", String(page + 1));
    const headers: Record<string, string> = page * perPage < records.length ? { link: `<${next.pathname}${next.search}>; rel="next"` } : {};
    return { status: 200, body: { [name]: shown }, headers };
  };
  return {
    answer,
    /** Adds or changes a record of `list`. */
    put(list: string, record: FreshserviceTicket) {
      if (!lists.has(list)) lists.set(list, new Map());
      lists.get(list)!.set(record.id, record);
    },
    /** Answers matching requests with a status instead (undefined: answered as usual). */
    failWith(decide: ((request: RecordedRequest) => number | undefined) | undefined) {
      fail = decide;
    },
  };
}

/** A Freshservice date, as its API writes them: to the second, in UTC (`2026-12-06T09:00:01Z`). */
export function freshserviceDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A SugarCRM date, as its API writes them: to the second, with an offset (`2026-12-06T05:00:01-04:00`). */
export function sugarDate(ms: number): string {
  const shifted = new Date(ms - 4 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "");
  return `${shifted}-04:00`;
}

export interface SilentListener {
  /** `127.0.0.1:port` */
  host: string;
  url(path: string): URL;
  /** How many connections it has accepted. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A TCP port on 127.0.0.1 that accepts connections and never sends a byte: a TLS handshake with
 * it never finishes (what a black-holed vendor looks like to a client's connect timeout).
 */
export async function startSilentListener(): Promise<SilentListener> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createTcpServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listenOnLoopback(server);
  return {
    host: `127.0.0.1:${port}`,
    url: (path) => new URL(path, `https://127.0.0.1:${port}`),
    connections: () => accepted,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Certificate {
  caPem: string;
  key: string;
  cert: string;
}

/** A CA made for this vendor only, and a server certificate it signed. EC P-256: milliseconds. */
async function throwawayCertificate(names: readonly string[]): Promise<Certificate> {
  const notBeforeDate = new Date(Date.now() - 24 * 3600 * 1000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 3600 * 1000);
  const common = { keyType: "ec", algorithm: "sha256", notBeforeDate, notAfterDate } as const;
  // A name of its own per CA: two fakes' CAs trusted at once must not be taken for one another.
  const caName = `instances-api test CA (throwaway ${randomUUID()})`;
  const ca = await generate([{ name: "commonName", value: caName }], {
    ...common,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: "commonName", value: "localhost" }], {
    ...common,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          ...["localhost", ...names].map((value) => ({ type: 2 as const, value })),
          { type: 7 as const, ip: "127.0.0.1" },
          { type: 7 as const, ip: "::1" },
        ],
      },
    ],
  });
  return { caPem: ca.cert, key: server.private, cert: server.cert };
}

function listenOnLoopback(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

/** Stops the server, cutting the connections a hanging or endless answer still holds. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
