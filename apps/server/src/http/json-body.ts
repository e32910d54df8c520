// The JSON body parser (1 MB limit), for authenticated callers only, with its failures held back until the validator has
// routed the request: an unknown path is 404, a wrong method 405 and a missing Authorization
// 401, whatever the body; only then does a malformed or oversized body get its 400 or 413.
// Held back the same way: a body that is JSON but not an object, and text that cannot be stored
// as sent, in the body or in the URL (storable-text.ts).
import express, { type Request, type RequestHandler, type Response } from "express";
import { isAuthenticated } from "../accounts/authentication.js";
import { InvalidRequestError } from "../errors.js";
import { unstorableUrlText, verifyBodyText } from "./storable-text.js";

/** The most a JSON body the server parses may hold (the proxy's bodies it puts credentials in too). */
export const jsonBodyMaxBytes = 1024 * 1024;
const jsonTypes = ["application/json", "application/*+json"];
// Not strict: `"x"` or `1` is JSON, and is refused below as what it is, not as malformed JSON.
const parse = express.json({
  limit: jsonBodyMaxBytes,
  type: jsonTypes,
  strict: false,
  verify: verifyBodyText,
});
// The parser's failure, held back on the response's locals until the validator has routed the request.
const heldBack = (res: Response) => res.locals as { bodyError?: unknown };

function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** What is wrong with a parsed body, if anything (its text was verified before it was parsed). */
function bodyError(body: unknown): Error | undefined {
  if (body === undefined || isObject(body)) return undefined; // undefined: no JSON body; the validator says whether one was due
  return new InvalidRequestError("The body must be a JSON object", [{ path: "/body", message: "must be a JSON object" }]);
}

export function jsonBody(): RequestHandler {
  return (req, res, next) => {
    // An anonymous body is neither read nor parsed: the request ends in a 401 (or 404/405). Its
    // connection is closed after the answer rather than drained of a body nobody wants.
    if (!isAuthenticated(res)) {
      if (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined) res.set("Connection", "close");
      return next();
    }
    // A body announced over the limit is refused unread (the parser would read it all first).
    if (Number(req.headers["content-length"]) > jsonBodyMaxBytes && req.is(jsonTypes)) {
      heldBack(res).bodyError = Object.assign(new Error("request entity too large"), { status: 413, type: "entity.too.large" });
      res.set("Connection", "close");
      return next();
    }
    parse(req, res, (parseError?: unknown) => {
      const error = parseError ?? bodyError(req.body);
      if (error) {
        heldBack(res).bodyError = error;
        req.body = undefined;
      }
      next();
    });
  };
}

/** The operation the validator matched takes a body (a body sent to one that does not is ignored). */
function takesBody(req: Request): boolean {
  const operation = (req as Request & { openapi?: { schema?: { requestBody?: unknown } } }).openapi?.schema;
  return operation?.requestBody != null; // the validator sets it to null on operations without one
}

/** The request's own error, held back until now: text in its URL that cannot be stored, then its body's. */
export function heldBackRequestError(req: Request): unknown {
  return unstorableUrlText(req) ?? (takesBody(req) ? heldBack(req.res!).bodyError : undefined);
}

/** After the validator: a request it let through now fails with its own error. */
export function raiseBodyError(): RequestHandler {
  return (req, _res, next) => next(heldBackRequestError(req));
}
