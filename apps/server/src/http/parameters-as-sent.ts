// Path and query parameters are read as the caller wrote them, in one strict way. The validator
// checks types and ranges, but it coerces the text first (as JavaScript's Number does), so `1e0`,
// `01`, `+1`, ` 1`, `0x1` and `1.0` all pass as 1: one resource would answer to many spellings.
// Here only canonical decimal digits are an integer.
import type { RequestHandler } from "express";
import { InvalidRequestError } from "../errors.js";

const canonicalDecimal = /^(0|[1-9][0-9]{0,15})$/;

/** The integer `value` spells, or a 400 naming `path` (such as `/path/id`) when it is not canonical. */
export function parseIntegerParameter(value: unknown, path: string): number {
  if (typeof value !== "string" || !canonicalDecimal.test(value)) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    const message = "must be a decimal integer written with digits only: no sign, leading zero, decimal point, exponent or spaces";
    throw new InvalidRequestError(`${name} ${message}`, [{ path, message }]);
  }
  return Number(value);
}

// The validator coerces the query in place (`pageSize=0x10` becomes 16) and leaves that copy on
// the request: it means to put the request's own `query` back, but Express 5 keeps that getter on
// the prototype. Express's reading of the URL (strings, as sent) is kept before the validator and
// put back after it, so the routes parse what the caller wrote.

/** Before the validator: keep Express's reading of the query (each read of req.query is a new one). */
export function keepQueryAsSent(): RequestHandler {
  return (req, res, next) => {
    res.locals.queryAsSent = req.query;
    next();
  };
}

/** After the validator: req.query is the query as sent again. */
export function restoreQueryAsSent(): RequestHandler {
  return (req, res, next) => {
    // Only the value changes: the validator's own property is writable but not configurable.
    Object.defineProperty(req, "query", { value: res.locals.queryAsSent, writable: true });
    next();
  };
}
