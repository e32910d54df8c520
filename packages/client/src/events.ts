// Receiving the events the API sends to an instance's callback URL: `verifyEvent` checks a
// request's Standard Webhooks signature and timestamp with the instance's signing secret, through
// the `standardwebhooks` package (the specification's own implementation, so that this client
// signs and checks nothing by itself), and returns the event typed by the spec's webhooks.
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { InstanceEvent } from "./types.js";

/**
 * A request's headers, as a server framework hands them over: a fetch `Headers`, or a record such as
 * Node's `req.headers` (names in any case; a header sent twice as its values).
 */
export type EventHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Why a request is not a verified event. */
export type EventVerificationFailure =
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is missing, or the timestamp is not a number. */
  | "missing-headers"
  /** No signature in `webhook-signature` matches the body with this secret. */
  | "bad-signature"
  /** `webhook-timestamp` is more than 5 minutes old: a replayed request, or a clock that is off. */
  | "timestamp-too-old"
  /** `webhook-timestamp` is more than 5 minutes ahead of this machine's clock. */
  | "timestamp-too-new"
  /** Signed, but its body is not an event (not a JSON object with a `type`). */
  | "not-an-event";

/** A request that did not verify as an event: answer it with a `4xx` and do not act on it. */
export class EventVerificationError extends Error {
  constructor(
    readonly reason: EventVerificationFailure,
    message: string,
  ) {
    super(message);
    this.name = "EventVerificationError";
  }
}

const eventHeaders = ["webhook-id", "webhook-timestamp", "webhook-signature"] as const;
const signingSecret = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

// What the package's errors mean, by their messages (the tests pin each one).
const failures: Record<string, [EventVerificationFailure, string]> = {
  "Missing required headers": ["missing-headers", "The request lacks webhook-id, webhook-timestamp or webhook-signature"],
  "Invalid Signature Headers": ["missing-headers", "The request's webhook-timestamp is not a number of seconds"],
  "No matching signature found": [
    "bad-signature",
    "No signature of the request matches its body: verify the body exactly as received (before any JSON parsing), with the instance's current eventSigningSecret",
  ],
  "Message timestamp too old": [
    "timestamp-too-old",
    "The request's webhook-timestamp is more than 5 minutes old: a replay, or this clock is off",
  ],
  "Message timestamp too new": ["timestamp-too-new", "The request's webhook-timestamp is more than 5 minutes ahead of this clock"],
};

/**
 * Verifies an event the API sent to an instance's callback URL and returns it, typed: a union that
 * narrows on `type` (`instance.created`, `instance.updated`, ..., `instance.test`).
 *
 * Checks that one of the request's `webhook-signature`s is the HMAC of its `webhook-id`,
 * `webhook-timestamp` and body with `secret`, and that the timestamp is within 5 minutes of this
 * machine's clock (Standard Webhooks). Pass the body exactly as received, before any JSON parsing:
 * re-serialized JSON does not verify. Answer `2xx` within 10 seconds once it verifies (the server
 * retries anything else), and deduplicate by `webhook-id`: an event may come more than once.
 * A newer server may send an event type this version of the client does not know (a new type is
 * not a breaking change): it is returned as sent, so give a `switch` on `type` a default that
 * ignores it.
 *
 * @param secret The instance's `eventSigningSecret` (`whsec_...`), from its create answer or its last
 *   token rotation. Events pending across a rotation are signed with the new secret and the old one,
 *   so the new secret verifies them too.
 * @param headers The request's headers: `webhook-id`, `webhook-timestamp` and `webhook-signature` are read.
 * @param body The request's body, as received (a string, or its bytes).
 * @returns The event, parsed.
 * @throws {EventVerificationError} When the request is not a verified event; its `reason` says why.
 * @throws {TypeError} When `secret` is not a signing secret (`whsec_` and base64).
 *
 * @example
 * ```ts
 * const event = verifyEvent(process.env.EVENT_SIGNING_SECRET ?? "", req.headers, rawBody);
 * if (event.type === "instance.invalid") console.log(`instance ${event.data.id} needs new credentials`);
 * ```
 */
export function verifyEvent(secret: string, headers: EventHeaders, body: string | Uint8Array): InstanceEvent {
  if (!signingSecret.test(secret)) throw new TypeError("secret must be an instance's eventSigningSecret: whsec_ and base64");
  let event: unknown;
  try {
    event = new Webhook(secret).verify(body, signatureHeaders(headers));
  } catch (error) {
    if (error instanceof SyntaxError) throw new EventVerificationError("not-an-event", "The request's body is signed but is not JSON");
    if (!(error instanceof WebhookVerificationError)) throw error;
    const [reason, message] = failures[error.message] ?? ["bad-signature", `The request did not verify: ${error.message}`];
    throw new EventVerificationError(reason, message);
  }
  if (typeof event !== "object" || event === null || typeof (event as { type?: unknown }).type !== "string") {
    throw new EventVerificationError("not-an-event", "The request's body is signed but is not an event: no `type`");
  }
  return event as InstanceEvent;
}

/** The three Standard Webhooks headers, by their lower-case names; a header sent twice as its values joined (RFC 9110). */
function signatureHeaders(headers: EventHeaders): Record<string, string> {
  const found: Record<string, string> = {};
  if (isFetchHeaders(headers)) {
    for (const name of eventHeaders) {
      const value = headers.get(name);
      if (value !== null) found[name] = value;
    }
    return found;
  }
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!(eventHeaders as readonly string[]).includes(lower) || value === undefined) continue;
    found[lower] = typeof value === "string" ? value : value.join(", ");
  }
  return found;
}

function isFetchHeaders(headers: EventHeaders): headers is Headers {
  return typeof (headers as Headers).get === "function" && typeof (headers as Headers).forEach === "function";
}
