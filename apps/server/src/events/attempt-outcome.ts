// What one delivery attempt came to, decided from what the receiver (or the network) did: the
// words the listing shows, and whether and when to try again. Pure, so that every case is one row
// of a table test. The words come from fixed text only: an error code, a host or a port would let a
// tenant probe what answers where through its own callback URL.
import { OutboundError } from "../outbound/outbound.js";
import type { AttemptOutcome, Delivery } from "./outbox.js";
import { nextAttemptAt, type RetryPolicy } from "./retry-schedule.js";

/** What the receiver did: answered with a status, or the request failed. */
export type AttemptResult = { status: number } | { failure: unknown };

/** The fixed words for a request that did not complete, from the sender's reason alone. */
export function failureText(failure: unknown): string {
  if (!(failure instanceof OutboundError)) return "the event could not be sent";
  // A string: the sender's reasons grow (a refused certificate) before this module knows them.
  const reason: string = failure.reason;
  switch (reason) {
    case "address-not-allowed":
      return "the callback URL's address is not allowed";
    case "timeout":
      return "the receiver did not answer in time";
    case "tls":
      return "the receiver's TLS certificate was refused";
    // A name that does not resolve reads as one that refuses: neither tells what lives where.
    case "unresolvable":
    case "unreachable":
    default:
      return "the receiver could not be reached";
  }
}

/** The fixed words for a status that is not 2xx. */
export function statusText(status: number): string {
  return status === 410 ? "the receiver answered 410 Gone: it asked for no more deliveries" : `the receiver answered ${status}`;
}

/**
 * The outcome of an attempt of `delivery` made at `attemptAt`. A 2xx delivers; a 410 Gone ends the
 * delivery at once (failed); an instance.deleted is attempted once, since its tenant can no longer
 * see or stop it; anything else is tried again with backoff until the retry horizon.
 */
export function attemptOutcome(
  delivery: Pick<Delivery, "eventType" | "attempts" | "createdAt">,
  attemptAt: number,
  result: AttemptResult,
  retry: RetryPolicy,
  random?: () => number,
): AttemptOutcome {
  const status = "status" in result ? result.status : undefined;
  const delivered = status !== undefined && status >= 200 && status <= 299;
  if (delivered) return { attemptAt, status, error: undefined, delivered, nextAttemptAt: undefined };
  const error = status === undefined ? failureText("failure" in result ? result.failure : undefined) : statusText(status);
  const final = status === 410 || delivery.eventType === "instance.deleted";
  return {
    attemptAt,
    status,
    error,
    delivered,
    nextAttemptAt: final ? undefined : nextAttemptAt(retry, delivery.attempts + 1, delivery.createdAt, attemptAt, random),
  };
}
