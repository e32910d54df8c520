// What can go wrong with the vendor's webhooks: a registration the vendor refused or failed (the
// write that asked for it stores nothing), and the receiving URL's own refusals, each one Problem.
import { ApiError, NotFoundError, problemType, TooManyRequestsError } from "../errors.js";

/** The vendor did not register a hook: the create or change that asked for it was not stored. */
export class HookRegistrationError extends ApiError {
  constructor(connector: string, resource: string, detail: string) {
    super(
      502,
      problemType("vendor-unavailable"),
      "Vendor unavailable",
      `${connector} did not register the webhook of ${resource}: ${detail}. Nothing was stored; retry later, or set event.vendor.type to "polling"`,
      { connector },
    );
  }
}

/**
 * One answer for every post that is not taken: a wrong or retired secret, an instance deleted or
 * not hooked, a resource it does not watch, any other address. The same body, so that it tells
 * nothing of which.
 */
export class NoSuchVendorHookError extends NotFoundError {
  constructor() {
    super("There is no such receiving URL");
  }
}

/** A post's body is over VENDOR_HOOK_BODY_MAX_BYTES. */
export class HookBodyTooLargeError extends ApiError {
  constructor(maxBytes: number) {
    super(413, problemType("payload-too-large"), "Payload too large", `A vendor's post may hold at most ${maxBytes} bytes`, { maxBytes });
  }
}

/** An instance's receiving URL took more posts this minute than it may. */
export class HookRateLimitedError extends TooManyRequestsError {
  constructor(perMinute: number, retryAfterSeconds: number) {
    super(`A receiving URL takes at most ${perMinute} posts a minute; retry in ${retryAfterSeconds} s`, retryAfterSeconds);
  }
}
