// What the proxy answers itself, rather than the vendor: each a Problem, never mistaken for the
// vendor's answer (those carry X-Proxied-From, these do not).
import { ApiError, problemType, TooManyRequestsError } from "../errors.js";

/** PROVISIONING=off: the server calls no vendor, so there is nothing to proxy to. */
export class ProxyOffError extends ApiError {
  constructor() {
    super(
      403,
      problemType("proxy-off"),
      "Proxy off",
      "This server calls no vendor (PROVISIONING=off), so it proxies no request; start it with PROVISIONING=live (or sandbox, to simulate)",
    );
  }
}

/** The connector's vendor has no API the platform can call (QuickBooks Enterprise). */
export class NoVendorApiError extends ApiError {
  constructor(connector: string, reason: string) {
    super(422, problemType("no-vendor-api"), "No vendor API", `${connector} cannot be proxied to: ${reason}`, { connector });
  }
}

/**
 * The instance's credentials cannot be sent now: they were never accepted at the API's origin
 * (an instance from before origins were recorded, or checked elsewhere), or the vendor's token is
 * missing (the last check was refused). A check (POST /instances/{id}/verify) settles it.
 */
export class CredentialsNotUsableError extends ApiError {
  constructor(connector: string, id: number, why: string) {
    super(
      409,
      problemType("credentials-not-usable"),
      "Credentials not usable",
      `Instance ${id}'s credentials cannot be sent to ${connector} now: ${why}. Check them again with POST /instances/${id}/verify`,
      { connector },
    );
  }
}

/** The request's body is over the proxy's cap. */
export class ProxyBodyTooLargeError extends ApiError {
  constructor(maxBytes: number) {
    super(413, problemType("payload-too-large"), "Payload too large", `A proxied request's body may hold at most ${maxBytes} bytes`, {
      maxBytes,
    });
  }
}

/** Too many proxied calls of one instance or one organization in flight on this server. */
export class ProxyBusyError extends TooManyRequestsError {
  constructor(scope: "instance" | "organization", limit: number) {
    super(`At most ${limit} proxied calls of one ${scope} may be in flight at once; retry in 1 s`, 1);
  }
}

/** The vendor could not be reached, or its answer could not be passed on. */
export class ProxyVendorUnavailableError extends ApiError {
  constructor(connector: string, detail: string) {
    super(502, problemType("vendor-unavailable"), "Vendor unavailable", `${connector}'s API could not be called: ${detail}`, { connector });
  }
}

/** The vendor did not answer in time. */
export class ProxyVendorTimeoutError extends ApiError {
  constructor(connector: string, host: string) {
    super(504, problemType("vendor-timeout"), "Vendor timeout", `${connector}'s API (${host}) did not answer in time`, { connector });
  }
}
