// What can go wrong with a request about events.
import { ApiError, echo, problemType, TooManyRequestsError } from "../errors.js";
import type { TestEventLimit, TestEventWait } from "./test-events.js";

/**
 * A callback URL the server would never send to: not https, or a private, loopback or link-local
 * address. `path` is where the request sent it; none when it is the instance's, as stored.
 */
export class CallbackUrlNotAllowedError extends ApiError {
  constructor(url: string, reason: string, path?: string) {
    super(
      400,
      problemType("callback-url-not-allowed"),
      "Callback URL not allowed",
      `event.notification.callback.url ${echo(url)} cannot receive events: ${reason}. Use a public https URL` +
        " (to try events against a local receiver, start the server with OUTBOUND_ALLOWED_HOSTS=<host:port>, for development only)",
      path === undefined ? {} : { errors: [{ path, message: reason }] },
    );
  }
}

/** A test event asked of an instance that sends no events: `reason` says which entry stops them. */
export class NotificationsOffError extends ApiError {
  constructor(id: number, reason: string, then = "then send the test event again") {
    super(
      409,
      problemType("notifications-off"),
      "Event notifications off",
      `Instance ${id} sends no events: ${reason}. Turn them on with PATCH /instances/${id} and the body` +
        ' {"configuration": {"event.notification.enabled": "true", "event.notification.callback.url": "https://<your receiver>"}},' +
        ` ${then}`,
    );
  }
}

/** A test event asked of an instance that has no signing secret to sign it with (one from before events were signed). */
export class NoSigningSecretError extends ApiError {
  constructor(id: number, then = "then send the test event again") {
    super(
      409,
      problemType("no-signing-secret"),
      "No event signing secret",
      `Instance ${id} has no event signing secret (it was created before events were signed): rotate its token with` +
        ` POST /instances/${id}/token to get one, ${then}`,
    );
  }
}

/** A test event beyond the instance's limit (test-events.ts), with when to come back. */
export class TestEventTooSoonError extends TooManyRequestsError {
  /** `what`: the kind of event limited (a simulated vendor change's type), a test event by default. */
  constructor(id: number, wait: TestEventWait, limit: TestEventLimit, what = "test event") {
    const retryAfterSeconds = Math.min(86_400, Math.max(1, Math.ceil(wait.waitMs / 1000)));
    const why =
      wait.reason === "interval"
        ? `Instance ${id} was sent a ${what} less than ${limit.intervalMs / 1000} s ago: at most one every ${limit.intervalMs / 1000} s`
        : `Instance ${id} has ${limit.pendingAtMost} ${what}s not delivered yet, as many as may be pending: each is retried until` +
          ` its receiver answers 2xx, for 24 hours at most (GET /instances/${id}/deliveries shows how they went; turning` +
          " notifications off drops them)";
    super(`${why}; retry in ${retryAfterSeconds} s`, retryAfterSeconds);
  }
}

/** A simulated vendor change asked where the vendor is real, or sends no events: `reason` says which. */
export class VendorNotSimulatedError extends ApiError {
  constructor(id: number, reason: string) {
    super(
      409,
      problemType("vendor-not-simulated"),
      "Vendor not simulated",
      `Instance ${id}'s vendor changes cannot be simulated: ${reason}. A simulated change is for a server whose vendors are` +
        " simulated (PROVISIONING=sandbox) and a connector whose changes become events (SugarCRM, Freshservice)",
    );
  }
}
