// Ports on 127.0.0.1 that fail a TLS client in each way the outbound guard must word alike (a
// plaintext HTTP server, a reset, a TLS server that speaks no HTTP or an older TLS, one that wants
// a client certificate) or as `tls` (a certificate that is self-signed, expired, or from a CA the
// client does not know). Each is a real server; nothing here leaves this machine.
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import { generate } from "selfsigned";

export interface Endpoint {
  /** `127.0.0.1:port`, for the allowed hosts. */
  host: string;
  /** `https://127.0.0.1:port/` and `path`. */
  url(path?: string): URL;
  /** Certificates a client should trust to reach it, if any. */
  caPem?: string;
  close(): Promise<void>;
}

/** A plain HTTP server: spoken to over https, the TLS handshake reads an HTTP answer. */
export function plaintextHttp(): Promise<Endpoint> {
  return serve(createHttpServer((_request, response) => response.writeHead(200).end("plain")));
}

/** Accepts a connection and resets it at once. */
export function resetting(): Promise<Endpoint> {
  return serve(createTcpServer((socket) => socket.resetAndDestroy()));
}

/** Writes an SSH banner and closes: a port that speaks something else altogether. */
export function sshBanner(): Promise<Endpoint> {
  return serve(createTcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n")));
}

/** A TLS server with a trusted certificate that answers an SSH banner instead of HTTP. */
export async function tlsSpeakingNoHttp(): Promise<Endpoint> {
  const { key, cert } = await certificate();
  const server = createTlsServer({ key, cert }, (socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n"));
  return { ...(await serve(server)), caPem: cert };
}

/** A TLS server with a trusted certificate that insists on a client certificate. */
export async function tlsWantingClientCertificate(): Promise<Endpoint> {
  const { key, cert } = await certificate();
  const server = createTlsServer({ key, cert, requestCert: true, rejectUnauthorized: true, ca: cert }, () => undefined);
  return { ...(await serve(server)), caPem: cert };
}

/** A TLS server with a trusted certificate that speaks only TLS 1.1, which the client refuses. */
export async function tlsTooOld(): Promise<Endpoint> {
  const { key, cert } = await certificate();
  const options: TlsOptions = { key, cert, minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT@SECLEVEL=0" };
  const server = createTlsServer(options, () => undefined);
  return { ...(await serve(server)), caPem: cert };
}

/** A TLS server whose certificate signed itself (`caPem`: trust it, and an expired one fails as expired). */
export async function selfSigned({ expired = false }: { expired?: boolean } = {}): Promise<Endpoint> {
  const { key, cert } = await certificate({ expired });
  const server = createTlsServer({ key, cert }, (socket) => socket.end());
  return { ...(await serve(server)), caPem: cert };
}

async function certificate({ expired = false }: { expired?: boolean } = {}): Promise<{ key: string; cert: string }> {
  const day = 24 * 3600 * 1000;
  const notBeforeDate = new Date(Date.now() - (expired ? 30 : 1) * day);
  const notAfterDate = new Date(Date.now() + (expired ? -2 : 7) * day);
  const made = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keyType: "ec",
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 7 as const, ip: "127.0.0.1" }] },
    ],
  });
  return { key: made.private, cert: made.cert };
}

function serve(server: Server): Promise<Endpoint> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", () => undefined);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        host: `127.0.0.1:${port}`,
        url: (path = "/") => new URL(path, `https://127.0.0.1:${port}`),
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
