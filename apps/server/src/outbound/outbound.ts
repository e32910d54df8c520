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

/**
 * Why an outbound request was not sent or did not complete. Only what the caller wrote is refused
 * as such; everything learnt from the network (what a name resolves to, what a port answers) ends
 * in one of three refusals that say what the caller needs and nothing more, so that the server
 * cannot be used to map the network it stands in: a name that resolves to a private address reads
 * like a name that does not resolve, and a closed port like one that speaks another protocol.
 */
export type OutboundFailureReason =
  /** The URL as written is refused: a scheme other than https, a user name or password, an address literal that is not public. */
  | "address-not-allowed"
  /**
   * No answer could be had: the name does not resolve, or resolves to an address that is not
   * allowed; the connection was refused or reset; the TLS handshake or the HTTP exchange failed.
   */
  | "unreachable"
  /** The server's TLS certificate could not be verified: untrusted, self-signed, expired, or for another name. */
  | "tls"
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

// The one wording of each refusal learnt from the network. `host` is the URL's host as the caller
// wrote it (`vendor.example`, `127.0.0.1:8443`): never an address it resolved to, nor an error code.

export function unreachableError(host: string): OutboundError {
  return new OutboundError("unreachable", `${host} could not be reached`);
}

export function untrustedCertificateError(host: string): OutboundError {
  return new OutboundError("tls", `${host} refused: its TLS certificate is not trusted`);
}

export function timeoutError(host: string): OutboundError {
  return new OutboundError("timeout", `${host} did not answer in time`);
}
