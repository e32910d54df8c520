// The one error type every layer throws. Each carries what the spec's Problem body says about it
// (status, type, title, detail and machine-readable fields); the HTTP error handler only renders
// it. Domain errors subclass it in their own folders.
export type ProblemFields = Record<string, unknown>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problemType: string,
    readonly title: string,
    message: string,
    readonly fields: ProblemFields = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A problem type URI, as in the spec's examples: `urn:instances-api:problem:<name>`. */
export function problemType(name: string): string {
  return `urn:instances-api:problem:${name}`;
}

export interface InvalidPart {
  path: string;
  message: string;
}

export class InvalidRequestError extends ApiError {
  constructor(message: string, errors: InvalidPart[] = []) {
    super(400, problemType("invalid-request"), "Invalid request", message, errors.length ? { errors } : {});
  }
}

export class UnauthorizedError extends ApiError {
  constructor(message = "The Authorization header must be: User <user secret>, Organization <organization secret>") {
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
  constructor(message: string) {
    super(429, problemType("too-many-requests"), "Too many requests", message);
  }
}
