// The outbound guard for the proxy (proxy/): the same checks as the guarded sender (every
// connection's address checked as it is made, TLS verified, no redirect followed, the connect and
// the wait for an answer bounded), but the request and the answer are streams, not strings, and
// connections are kept alive between requests. A kept connection was checked when it was opened
// and stays connected to that checked address; undici keys its pools by origin, so a connection
// is only ever reused for the name it was opened for. That spares a proxied call the TCP and TLS
// handshakes of a new connection each time (about 2 ms on loopback, a round trip or two to a
// vendor across the internet).
import type { Readable } from "node:stream";
import { Agent } from "undici";
import { checkedConnector, outboundFailure } from "./guarded-sender.js";
import { allowedHostSet, outboundTarget, type OutboundLookup } from "./outbound-target.js";
import { OutboundError, timeoutError } from "./outbound.js";

export interface OutboundStreamRequest {
  method: string;
  url: URL;
  /** Header names in lower case; each value as it is to be sent. */
  headers: Record<string, string | string[]>;
  /** A stream (sent as it is read) or bytes; null for none. */
  body: Readable | Buffer | null;
  /** Aborts the exchange (the caller went away, or its whole time ran out). */
  signal: AbortSignal;
}

export interface OutboundStreamResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string | string[]>;
  /** The answer's body, unread: the caller reads it, or destroys it. */
  body: Readable;
}

export type OutboundStream = (request: OutboundStreamRequest) => Promise<OutboundStreamResponse>;

export interface GuardedStreamOptions {
  /** As the guarded sender's: `host:port` entries let through although private or loopback. */
  allowedHosts: readonly string[];
  /** Name resolution, TCP connect and TLS handshake, each. Default 5 s. */
  connectTimeoutMs?: number;
  /** How long the vendor has to send its status and headers, and at most between two parts of its body. */
  answerTimeoutMs: number;
  /** Connections kept to one origin at most (undici queues beyond). */
  connectionsPerOrigin: number;
  lookup?: OutboundLookup;
  ca?: string | readonly string[];
}

export interface GuardedStream {
  send: OutboundStream;
  /** Closes the kept connections (at shutdown). */
  close(): Promise<void>;
}

export function guardedStream(options: GuardedStreamOptions): GuardedStream {
  const allowedHosts = allowedHostSet(options.allowedHosts);
  const agent = new Agent({
    connect: checkedConnector(allowedHosts, options),
    connections: options.connectionsPerOrigin,
    // An idle connection is closed after 10 s (or sooner, when the vendor says so in Keep-Alive).
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
  });

  const send: OutboundStream = async (request) => {
    // Refused before anything is resolved or opened (the connector checks again, for every new connection).
    const target = outboundTarget(request.url, allowedHosts);
    try {
      const response = await agent.request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
        headersTimeout: options.answerTimeoutMs,
        bodyTimeout: options.answerTimeoutMs,
      });
      return { status: response.statusCode, headers: lowerCased(response.headers), body: response.body };
    } catch (error) {
      if (request.signal.aborted && request.signal.reason instanceof OutboundError) throw request.signal.reason;
      throw outboundFailure(error, request.signal, target.host);
    }
  };
  return { send, close: () => agent.close() };
}

/**
 * The deadline of a whole exchange, as an abort reason the guard's callers read (the host did not
 * answer in time), on a signal that `also` aborts as well (the caller went away). One controller
 * rather than AbortSignal.any: it is made for every proxied call, and any() tracks its sources.
 */
export function deadlineSignal(host: string, ms: number, also?: AbortSignal): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(timeoutError(host)), ms);
  const follow = () => controller.abort(also?.reason);
  if (also?.aborted) follow();
  else also?.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      also?.removeEventListener("abort", follow);
    },
  };
}

function lowerCased(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}
