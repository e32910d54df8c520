// A vendor's API for tests: a real HTTPS server on 127.0.0.1 with a certificate from a throwaway
// CA made for it, answering what each test scripts (JSON, a hang, a redirect, an endless body, a
// dropped connection) and recording what it was sent. The server's outbound code is pointed at
// it with OUTBOUND_ALLOWED_HOSTS (`vendor.host`) and trusts it through the CA in `vendor.caPem`,
// which production would get from NODE_EXTRA_CA_CERTS. Nothing here leaves this machine.
//
// The certificates come from `selfsigned` (pure JavaScript over Node's WebCrypto): no openssl
// binary on PATH, no files on disk, the same on every machine that runs the tests.
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { generate } from "selfsigned";

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Answers one request; the request's body has been read into `request.body` already. */
export type VendorHandler = (request: RecordedRequest, response: ServerResponse) => void;

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
  /** Scripts `"METHOD /path"` (path without the query); other requests get a 404 JSON answer. */
  on(route: string, handler: VendorHandler): void;
  close(): Promise<void>;
}

export interface FakeVendorOptions {
  /** Plain HTTP instead of HTTPS (for the allowed-hosts case). Default: TLS. */
  tls?: boolean;
  /** More DNS names the certificate is valid for, besides `localhost`. */
  names?: readonly string[];
}

export async function startFakeVendor(options: FakeVendorOptions = {}): Promise<FakeVendor> {
  const { caPem, key, cert } = await throwawayCertificate(options.names ?? []);
  const routes = new Map<string, VendorHandler>();
  const requests: RecordedRequest[] = [];
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const recorded: RecordedRequest = {
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      const handler = routes.get(`${recorded.method} ${recorded.path.split("?")[0]}`) ?? answerJson(404, { error: "no such route" });
      handler(recorded, response);
    });
  };
  const tls = options.tls ?? true;
  const server = tls ? createHttpsServer({ key, cert }, listener) : createHttpServer(listener);
  // A client that gives up mid-answer (the guard cutting a body) is expected here.
  server.on("clientError", (_error, socket: Socket) => socket.destroy());
  const port = await listenOnLoopback(server);
  const origin = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  return {
    host: `127.0.0.1:${port}`,
    port,
    origin,
    url: (path) => new URL(path, origin),
    caPem,
    requests,
    on: (route, handler) => void routes.set(route, handler),
    close: () => closeServer(server),
  };
}

/** Answers `status` with `body` as JSON. */
export function answerJson(status: number, body: unknown, headers: Record<string, string> = {}): VendorHandler {
  return (_request, response) => {
    response.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
  };
}

/** Reads the request and never answers: the connection stays open until the client gives up. */
export function hang(): VendorHandler {
  return () => undefined;
}

/** Answers a redirect to `location`. */
export function redirectTo(location: string, status = 302): VendorHandler {
  return (_request, response) => {
    response.writeHead(status, { location }).end();
  };
}

/** Answers 200 and sends bytes for as long as the client reads them: a body with no end. */
export function endlessBody(): VendorHandler {
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
export function closeSocket(): VendorHandler {
  return (_request, response) => {
    response.socket?.destroy();
  };
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
