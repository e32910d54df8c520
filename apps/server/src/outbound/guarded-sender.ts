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
import { allowedHostSet, checkAddresses, outboundTarget, resolveTarget, systemLookup, type OutboundLookup } from "./outbound-target.js";
import { OutboundError, type OutboundRequest, type OutboundResponse, type OutboundSend } from "./outbound.js";

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
    connect: guardedConnector({
      allowedHosts,
      lookup: options.lookup ?? systemLookup,
      connectTimeoutMs: options.connectTimeoutMs ?? defaultOutboundLimits.connectTimeoutMs,
      ca: options.ca,
    }),
    // No keep-alive: every request opens a connection of its own, and so is resolved and checked
    // anew; nothing stays open between requests to hold the process or a vendor's slot.
    pipelining: 0,
  });

  return async (request: OutboundRequest): Promise<OutboundResponse> => {
    // Refused before anything is resolved or opened (the connector checks again, for every connection).
    const target = outboundTarget(request.url, allowedHosts);
    const limitMs = request.timeoutMs ?? timeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new OutboundError("timeout", `no complete answer from ${target.endpoint} within ${limitMs} ms`)),
      limitMs,
    );
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
      throw outboundFailure(error, deadline.signal, target.endpoint);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Throws address-not-allowed when `url` could never be sent: a scheme other than https (http
 * only for an allowed host), a user name or password in it, or a host that is, or resolves to, a
 * refused address. For create and update time, so a refused callback URL or site URL is a 4xx
 * then rather than a failed delivery later. A name that does not resolve (yet) is not refused:
 * every send checks again, connection by connection.
 */
export async function checkOutboundUrl(url: URL, allowedHosts: readonly string[], lookup: OutboundLookup = systemLookup): Promise<void> {
  const allowed = allowedHostSet(allowedHosts);
  const target = outboundTarget(url, allowed);
  if (target.listed) return;
  let addresses;
  try {
    addresses = await resolveTarget(target, lookup, defaultOutboundLimits.connectTimeoutMs);
  } catch (error) {
    if (error instanceof OutboundError) return;
    throw error;
  }
  checkAddresses(target, addresses, allowed);
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
 * The contract's reason for a failure. Everything the network can do that is not a timeout or a
 * refusal (refused, reset, closed early, TLS) is "unreachable"; the message names the host and
 * the code, never the addresses tried or anything from the URL past its host.
 */
function outboundFailure(error: unknown, deadline: AbortSignal, endpoint: string): unknown {
  if (error instanceof OutboundError) return error;
  if (deadline.aborted && deadline.reason instanceof OutboundError) return deadline.reason;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && invalidRequestCodes.has(code)) return error;
  if (typeof code === "string" && timeoutCodes.has(code))
    return new OutboundError("timeout", `no complete answer from ${endpoint} in time (${code})`);
  const cause = typeof code === "string" ? code : error instanceof Error ? error.name : "unknown error";
  return new OutboundError("unreachable", `${endpoint} could not be reached (${cause})`);
}
