// The one error path: every error (ours, the body parser's, the validator's, an unexpected fault)
// becomes the spec's Problem body (application/problem+json) with the request's id. A fault is
// logged with its stack and answered 500 without one. A database that cannot serve now is a 503
// with Retry-After, here and nowhere else: the stores throw plain DatabaseUnavailableError.
import type { ErrorRequestHandler, Request, RequestHandler } from "express";
import { DatabaseUnavailableError } from "../database/errors.js";
import {
  ApiError,
  cut,
  echoedAtMost,
  invalidPart,
  problemType,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  type InvalidPart,
} from "../errors.js";
import type { ProblemName } from "../api-types.js";
import { problemBody } from "./problem.js";
import { requestLogger } from "./request-logging.js";

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
  errors?: { path?: string; message?: string }[];
  headers?: Record<string, string>;
}

/**
 * The challenge of a 401 (RFC 9110 §11.6.1): the scheme is the first word of the Authorization
 * header the API takes (`User <user secret>, Organization <organization secret>`).
 */
const authenticationChallenge = 'User realm="instances-api"';

/**
 * What the libraries' errors (the body parser's, the validator's, `send`'s for the docs page) are
 * answered with, by the status they carry. The spec's catalog gives each problem type one status,
 * so a status this table does not name is answered as a 400: no type goes out under another's.
 */
const titles: Record<number, [name: ProblemName, title: string, message: string]> = {
  400: ["invalid-request", "Invalid request", "The request is invalid"],
  404: ["not-found", "Not found", "There is no such resource"],
  405: ["method-not-allowed", "Method not allowed", "This method is not allowed on this path"],
  406: ["not-acceptable", "Not acceptable", "This API answers only in JSON"],
  412: ["precondition-failed", "Precondition failed", "A precondition of the request (If-Match, If-Unmodified-Since) does not hold"],
  413: ["payload-too-large", "Payload too large", "The body is over the 1 MB limit"],
  415: ["unsupported-media-type", "Unsupported media type", "The body must be JSON (Content-Type: application/json)"],
  500: ["internal", "Internal error", "An unexpected fault; quote the requestId when you report it"],
};

function internalError(): ApiError {
  const [name, title, message] = titles[500]!;
  return new ApiError(500, problemType(name), title, message);
}

function fromHttpError(error: HttpLikeError): ApiError {
  const raised = error.status ?? error.statusCode ?? 500;
  if (raised >= 500 || !Number.isInteger(raised)) return internalError();
  // The validator's own 401 (no Authorization header) says what our authentication says.
  if (raised === 401) return new UnauthorizedError();
  if (error.type === "entity.parse.failed") {
    return new ApiError(400, problemType("malformed-json"), "Malformed JSON", "The body is not valid JSON");
  }
  const status = raised in titles ? raised : 400;
  const [name, title, fallback] = titles[status]!;
  const errors: InvalidPart[] = (error.errors ?? []).map((e) => invalidPart(e.path ?? "", e.message ?? "is invalid"));
  // The libraries' own messages for these name no more than the fallback does, or less clearly.
  const ownMessage = [404, 405, 412, 413].includes(status) || !error.message ? fallback : cut(error.message, 2 * echoedAtMost);
  const message = status === 400 && errors.length ? errors.map((e) => `${e.path} ${e.message}`).join("; ") : ownMessage;
  return new ApiError(status, problemType(name), title, message, errors.length ? { errors } : {});
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof DatabaseUnavailableError) return new ServiceUnavailableError(error.message);
  return fromHttpError(error ?? {});
}

export function errorHandler(): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);
    const apiError = toApiError(error);
    if (apiError instanceof ServiceUnavailableError) {
      // What the driver or SQLite said, for the operator; the caller gets the plain message.
      requestLogger(req).warn({ err: error instanceof DatabaseUnavailableError ? error.cause : error }, "the database is unavailable");
    } else if (apiError.status >= 500) requestLogger(req).error({ err: error }, "request failed");
    // A 503 and a 429 say when to come back, whoever refused (the database away, the throttle, a verify too soon).
    if (
      (apiError instanceof ServiceUnavailableError || apiError instanceof TooManyRequestsError) &&
      apiError.retryAfterSeconds !== undefined
    )
      res.set("Retry-After", String(apiError.retryAfterSeconds));
    const allow = (error as HttpLikeError | undefined)?.headers?.Allow;
    if (allow) res.set("Allow", allow);
    if (apiError.status === 401) res.set("WWW-Authenticate", authenticationChallenge);
    // An answer sent before the request's body was read (a 429, a 415, a 413...) closes the
    // connection: otherwise Node would read and discard the whole body, however large, to keep it.
    if (!req.complete) res.set("Connection", "close");
    res.status(apiError.status).type("application/problem+json").json(problemBody(apiError, req.id));
  };
}

/**
 * For the validator's response check: a response that breaks the spec is a fault of ours. It is
 * logged and answered with a 500 Problem in its place (sent here: the validator would otherwise
 * hand the error to a `next` that has already run past the error handler).
 */
export function answerSpecViolation(error: Error, _body: unknown, req: Request): void {
  const res = req.res;
  requestLogger(req).error({ err: error }, "a response broke the spec");
  if (!res || res.headersSent) return;
  res
    .status(500)
    .type("application/problem+json")
    .end(JSON.stringify(problemBody(internalError(), req.id)));
}

/** The answer for a path outside the API. */
export function notFound(): RequestHandler {
  return (req) => {
    throw new ApiError(404, problemType("not-found"), "Not found", `There is no ${req.method} ${req.path}`);
  };
}
