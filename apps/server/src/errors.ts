// The one error type every layer throws. Each carries what the spec's Problem body says about it
// (status, type, title, detail and machine-readable fields); the HTTP error handler only renders
// it. Domain errors subclass it in their own folders.
//
// Errors stay small whatever the request (a hostile body must not get a megabyte back, nor cost
// the server the time to build one): a list is cut to its first `listedAtMost` items with a
// `<list>Total`, a value the request sent is echoed cut to `echoedAtMost` characters, and a
// message to `messageAtMost`. With those, no Problem body reaches 64 kB.
import type { ProblemName, ProblemType } from "./api-types.js";

export type ProblemFields = Record<string, unknown>;

export const listedAtMost = 20;
export const echoedAtMost = 64;
const namedInMessageAtMost = 10;
const messageAtMost = 2_048;

/** The text cut to `max` characters (code points: a pair of surrogates is never split), marked with "…". */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = 0;
  let count = 0;
  for (const point of text) {
    if (count === max) return `${text.slice(0, end)}…`;
    end += point.length;
    count++;
  }
  return text;
}

/** A value the request sent, as an error repeats it. */
export function echo(value: string): string {
  return cut(value, echoedAtMost);
}

/** Items joined for a message: the first few, then how many more. */
export function listed(items: string[], total = items.length): string {
  const shown = items.slice(0, namedInMessageAtMost).join(", ");
  return total > namedInMessageAtMost ? `${shown} and ${total - namedInMessageAtMost} more` : shown;
}

/** Every list cut to its first `listedAtMost` items; `<list>Total` says how many there were. */
function capLists(fields: ProblemFields): ProblemFields {
  const capped: ProblemFields = { ...fields };
  for (const [name, value] of Object.entries(fields)) {
    if (!Array.isArray(value) || value.length <= listedAtMost) continue;
    capped[name] = value.slice(0, listedAtMost);
    capped[`${name}Total`] ??= value.length;
  }
  return capped;
}

export class ApiError extends Error {
  readonly fields: ProblemFields;

  constructor(
    readonly status: number,
    readonly problemType: ProblemType,
    readonly title: string,
    message: string,
    fields: ProblemFields = {},
  ) {
    super(cut(message, messageAtMost));
    this.name = new.target.name;
    this.fields = capLists(fields);
  }
}

/**
 * A problem type URI, `urn:instances-api:problem:<name>`, of the spec's catalog (ProblemType): a
 * name outside it does not compile.
 */
export function problemType(name: ProblemName): ProblemType {
  return `urn:instances-api:problem:${name}`;
}

export interface InvalidPart {
  path: string;
  message: string;
}

/** An invalid part as an error lists it: its path and message may hold the request's own names, so both are cut. */
export function invalidPart(path: string, message: string): InvalidPart {
  return { path: cut(path, 2 * echoedAtMost), message: cut(message, 2 * echoedAtMost) };
}

export class InvalidRequestError extends ApiError {
  constructor(message: string, errors: InvalidPart[] = []) {
    super(400, problemType("invalid-request"), "Invalid request", message, errors.length ? { errors } : {});
  }
}

export class UnauthorizedError extends ApiError {
  constructor(
    message = "The Authorization header must be: User <user secret>, Organization <organization secret>[, Element <instance token>]",
  ) {
    super(401, problemType("unauthorized"), "Unauthorized", message);
  }
}

export class NotFoundError extends ApiError {
  constructor(message = "Not found") {
    super(404, problemType("not-found"), "Not found", message);
  }
}

export class PreconditionFailedError extends ApiError {
  constructor(message: string) {
    super(412, problemType("precondition-failed"), "Precondition failed", message);
  }
}

/** The server cannot answer for now (its database is down or restarting); sent with Retry-After. */
export class ServiceUnavailableError extends ApiError {
  constructor(
    message = "The database is unreachable for now; retry later",
    /** Seconds a client should wait before it retries: about how long a database restart takes. */
    readonly retryAfterSeconds = 2,
  ) {
    super(503, problemType("unavailable"), "Service unavailable", message);
  }
}

export class TooManyRequestsError extends ApiError {
  constructor(
    message: string,
    /** Seconds to wait before a retry, sent as Retry-After when set. */
    readonly retryAfterSeconds?: number,
  ) {
    super(429, problemType("too-many-requests"), "Too many requests", message);
  }
}
