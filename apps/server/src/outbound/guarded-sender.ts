// The one production OutboundSend: every request the server sends on its own goes through here.
// It refuses URLs and addresses the server must not reach (SSRF, OWASP API7: see
// outbound-target.ts and address-policy.ts), checks the address of every connection as it is
// made (guarded-connector.ts), verifies TLS against Node's CA store (plus NODE_EXTRA_CA_CERTS),
// never follows a redirect (a 3xx is returned as it came), bounds the connect and the whole
// exchange in time, and reads at most a capped number of body bytes.
//
// undici rather than Node's built-in fetch: the connector is the hook that sees each connection,
// and the package's own Agent takes it as documented, where the global fetch's dispatcher is not
// a public, versioned interface.
import type { Readable } from "node:stream";
import { Agent } from "undici";
import { guardedConnector } from "./guarded-connector.js";
import { allowedHostSet, outboundTarget, systemLookup, type OutboundLookup } from "./outbound-target.js";
import {
  OutboundError,
  timeoutError,
  unreachableError,
  untrustedCertificateError,
  type OutboundRequest,
  type OutboundResponse,
  type OutboundSend,
} from "./outbound.js";

export type { OutboundLookup, ResolvedAddress } from "./outbound-target.js";

export const defaultOutboundLimits = Object.freeze({
  /** Name resolution, TCP connect and TLS handshake, each. */
  connectTimeoutMs: 5_000,
  /** The whole exchange, when the request names no timeout of its own. */
  timeoutMs: 10_000,
  /** Body bytes read from an answer; the rest is not read and the connection is closed. */
  maxResponseBytes: 64 * 1024,
});

export interface GuardedSenderOptions {
  /** `host:port` entries let through although private or loopback, over http too (config.outboundAllowedHosts). */
  allowedHosts: readonly string[];
  /** Default 10 s; a request's own `timeoutMs` wins. */
  timeoutMs?: number;
  /** Default 5 s. */
  connectTimeoutMs?: number;
  /** Default 64 KiB. */
  maxResponseBytes?: number;
  /** The resolver; the system's by default. Tests inject one to name private addresses without DNS. */
  lookup?: OutboundLookup;
  /**
   * CAs to trust instead of Node's store: for tests, with a throwaway CA. Production leaves it
   * unset and adds a private CA, if it needs one, with NODE_EXTRA_CA_CERTS.
   */
  ca?: string | readonly string[];
}

export function guardedSender(options: GuardedSenderOptions): OutboundSend {
  const allowedHosts = allowedHostSet(options.allowedHosts);
  const timeoutMs = options.timeoutMs ?? defaultOutboundLimits.timeoutMs;
  const maxResponseBytes = options.maxResponseBytes ?? defaultOutboundLimits.maxResponseBytes;
  const agent = new Agent({
    connect: checkedConnector(allowedHosts, options),
    // No keep-alive: every request opens a connection of its own, and so is resolved and checked
    // anew; nothing stays open between requests to hold the process or a vendor's slot.
    pipelining: 0,
  });

  return async (request: OutboundRequest): Promise<OutboundResponse> => {
    // Refused before anything is resolved or opened (the connector checks again, for every connection).
    const target = outboundTarget(request.url, allowedHosts);
    const limitMs = request.timeoutMs ?? timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(timeoutError(target.host)), limitMs);
    try {
      const response = await agent.request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method,
        headers: request.headers ?? {},
        body: request.body ?? null,
        signal: deadline.signal,
        headersTimeout: limitMs,
        bodyTimeout: limitMs,
      });
      const { text, truncated } = await readCapped(response.body, maxResponseBytes);
      return { status: response.statusCode, headers: flatHeaders(response.headers), body: text, truncated };
    } catch (error) {
      throw outboundFailure(error, deadline.signal, target.host);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The connector every guarded agent opens its connections through, with the defaults filled in. */
export function checkedConnector(
  allowedHosts: ReturnType<typeof allowedHostSet>,
  options: Pick<GuardedSenderOptions, "lookup" | "connectTimeoutMs" | "ca">,
) {
  return guardedConnector({
    allowedHosts,
    lookup: options.lookup ?? systemLookup,
    connectTimeoutMs: options.connectTimeoutMs ?? defaultOutboundLimits.connectTimeoutMs,
    ca: options.ca,
  });
}

/**
 * Throws address-not-allowed when `url` as written could never be sent: a scheme other than https
 * (http only for an allowed host), a user name or password in it, or an address literal that is
 * not public. For create and update time, so a refused callback URL or site URL is a 4xx then
 * rather than a failed delivery later. A name is not resolved here: a name that resolves to a
 * private address must read exactly like one that does not resolve (yet), and both are let
 * through; every send resolves and checks again, connection by connection, and fails as
 * `unreachable` for either.
 */
export function checkOutboundUrl(url: URL, allowedHosts: readonly string[]): Promise<void> {
  return new Promise((resolve) => resolve(void outboundTarget(url, allowedHostSet(allowedHosts))));
}

/** At most `cap` bytes of the body; past that, the body is destroyed (closing the connection) unread. */
async function readCapped(body: Readable, cap: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size + chunk.length > cap) {
      chunks.push(chunk.subarray(0, cap - size));
      truncated = true;
      break; // leaving the loop destroys the stream
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  // Streaming decode drops a character cut in half at the cap instead of writing U+FFFD for it.
  return { text: new TextDecoder("utf-8").decode(Buffer.concat(chunks), { stream: truncated }), truncated };
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

const timeoutCodes = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);
/** undici's answer to arguments it cannot send: the caller's bug, not the network's. */
const invalidRequestCodes = new Set([
  "UND_ERR_INVALID_ARG",
  "UND_ERR_NOT_SUPPORTED",
  "ERR_INVALID_ARG_TYPE",
  "ERR_INVALID_ARG_VALUE",
  "ERR_INVALID_CHAR",
]);
/**
 * How Node says the server's certificate failed verification: OpenSSL's X509 verification results
 * as Node names them, and Node's own check of the name (checkServerIdentity). A failed TLS
 * *protocol* (ERR_SSL_*: a plaintext port, a handshake failure) is not among them: that is any
 * port that does not speak TLS, and stays `unreachable`.
 */
const certificateCodes = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "UNABLE_TO_GET_CRL",
  "CERT_SIGNATURE_FAILURE",
  "CERT_NOT_YET_VALID",
  "CERT_HAS_EXPIRED",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_CHAIN_TOO_LONG",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "HOSTNAME_MISMATCH",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_TLS_CERT_ALTNAME_FORMAT",
]);

/**
 * The contract's reason for a failure, in the one wording of each (outbound.ts): a timeout; a
 * certificate that could not be verified (`tls`); anything else the network can do (refused,
 * reset, closed early, a port that speaks no TLS or no HTTP) is `unreachable`. The message names
 * the host as the URL gives it and nothing else: no error code, which would tell one port's
 * protocol from another's, no address tried, nothing of the URL past its host.
 */
export function outboundFailure(error: unknown, deadline: AbortSignal, host: string): unknown {
  if (error instanceof OutboundError) return error;
  if (deadline.aborted && deadline.reason instanceof OutboundError) return deadline.reason;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && invalidRequestCodes.has(code)) return error;
  if (typeof code === "string" && timeoutCodes.has(code)) return timeoutError(host);
  if (typeof code === "string" && certificateCodes.has(code)) return untrustedCertificateError(host);
  return unreachableError(host);
}
