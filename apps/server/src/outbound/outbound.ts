// The contract for every request the server sends on its own (credential checks with a vendor,
// token refreshes, event deliveries). Callers build an `OutboundRequest` and hand it to an
// `OutboundSend`; the guarded sender (outbound/guarded-sender.ts) is the one production
// implementation: it refuses private and loopback addresses (SSRF, OWASP API7), bounds time and
// size, and never follows a redirect. Tests pass their own sender where they must record instead
// of connect.

export interface OutboundRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /** The whole exchange (connect, send, answer) must finish within this; the sender has a default. */
  timeoutMs?: number;
}

export interface OutboundResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The answer's body as text, cut at the sender's size cap. */
  body: string;
  /** True when the body was longer than the cap and was cut. */
  truncated: boolean;
}

export type OutboundSend = (request: OutboundRequest) => Promise<OutboundResponse>;

/** Why an outbound request was not sent or did not complete. */
export type OutboundFailureReason =
  /** The URL's scheme, host or resolved address is not allowed (private, loopback, link-local...). */
  | "address-not-allowed"
  /** The name does not resolve. */
  | "unresolvable"
  /** The connection was refused or reset, or TLS failed. */
  | "unreachable"
  /** No complete answer within the time allowed. */
  | "timeout";

export class OutboundError extends Error {
  constructor(
    readonly reason: OutboundFailureReason,
    message: string,
  ) {
    super(message);
    this.name = "OutboundError";
  }
}
