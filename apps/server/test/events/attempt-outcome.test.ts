// What an attempt comes to, case by case: the listing's words come from the sender's reason or
// the status alone (a refused port and a port that speaks another protocol read the same, and no
// host, port or code shows), a 410 Gone and an instance.deleted are not tried again, anything else
// is until the horizon.
import { describe, expect, it } from "vitest";
import { attemptOutcome } from "../../src/events/attempt-outcome.js";
import { OutboundError, type OutboundFailureReason } from "../../src/outbound/outbound.js";

const retry = { firstRetryMs: 5_000, horizonMs: 24 * 3_600_000 };
const updated = { eventType: "instance.updated" as const, attempts: 0, createdAt: 0 };
const deleted = { ...updated, eventType: "instance.deleted" as const };
const failed = (reason: string, message: string) => ({ failure: new OutboundError(reason as OutboundFailureReason, message) });

describe("an attempt's outcome", () => {
  it.each([
    ["a refused connection", failed("unreachable", "127.0.0.1:9 could not be reached (ECONNREFUSED)"), "the receiver could not be reached"],
    [
      "a plaintext port spoken to over https",
      failed("unreachable", "127.0.0.1:80 could not be reached (ERR_SSL_WRONG_VERSION_NUMBER)"),
      "the receiver could not be reached",
    ],
    [
      "a name that does not resolve",
      failed("unresolvable", "hooks.internal does not resolve (ENOTFOUND)"),
      "the receiver could not be reached",
    ],
    ["an address not allowed", failed("address-not-allowed", "10.0.0.7 is a private address"), "the callback URL's address is not allowed"],
    ["a timeout", failed("timeout", "no complete answer from 127.0.0.1:9 within 10000 ms"), "the receiver did not answer in time"],
    ["a refused certificate", failed("tls", "127.0.0.1:443: self-signed certificate"), "the receiver's TLS certificate was refused"],
    ["a reason the sender learns later", failed("something-new", "127.0.0.1:9 did something"), "the receiver could not be reached"],
    ["a failure that is not the sender's", { failure: new Error("127.0.0.1:9 exploded") }, "the event could not be sent"],
    ["a 500", { status: 500 }, "the receiver answered 500"],
    ["a 301 (redirects are not followed)", { status: 301 }, "the receiver answered 301"],
  ])("after %s says fixed words and is tried again", (_name, result, error) => {
    const outcome = attemptOutcome(updated, 1_000, result, retry, () => 0);
    expect(outcome).toMatchObject({ attemptAt: 1_000, error, delivered: false, nextAttemptAt: 3_500 });
    expect(outcome.error).not.toMatch(/127\.0\.0\.1|:\d|[A-Z]{3,}_|ECONN/);
  });

  it("after a 2xx is delivered", () => {
    expect(attemptOutcome(updated, 1_000, { status: 204 }, retry)).toEqual({
      attemptAt: 1_000,
      status: 204,
      error: undefined,
      delivered: true,
      nextAttemptAt: undefined,
    });
  });

  it.each([
    ["a 410 Gone", updated, { status: 410 }, "the receiver answered 410 Gone: it asked for no more deliveries"],
    ["a 500 to instance.deleted", deleted, { status: 500 }, "the receiver answered 500"],
    ["a refused connection to instance.deleted", deleted, failed("unreachable", "refused"), "the receiver could not be reached"],
  ])("after %s fails at once, never tried again", (_name, delivery, result, error) => {
    expect(attemptOutcome(delivery, 1_000, result, retry)).toMatchObject({ error, delivered: false, nextAttemptAt: undefined });
  });

  it("is given up after the horizon", () => {
    expect(attemptOutcome(updated, retry.horizonMs, { status: 500 }, retry).nextAttemptAt).toBeUndefined();
  });
});
