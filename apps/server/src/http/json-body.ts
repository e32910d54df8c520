// The JSON body parser (1 MB limit), with its failures held back until the validator has
// routed the request: an unknown path is 404, a wrong method 405 and a missing Authorization
// 401, whatever the body; only then does a malformed or oversized body get its 400 or 413.
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from "express";

const parse = express.json({ limit: "1mb", type: ["application/json", "application/*+json"] });
const heldBack = new WeakMap<Request, unknown>();

export function jsonBody(): RequestHandler {
  return (req, res, next) => {
    parse(req, res, (error?: unknown) => {
      if (error) {
        heldBack.set(req, error);
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

/** After the validator: a request it let through now fails with its body's error. */
export function raiseBodyError(): RequestHandler {
  return (req, _res, next) => next(takesBody(req) ? heldBack.get(req) : undefined);
}

/** After the validator: its complaint about a body that could not be parsed gives way to the parser's. */
export function preferBodyError(): ErrorRequestHandler {
  return (error: { status?: number }, req, _res, next) => {
    const bodyError = takesBody(req) ? heldBack.get(req) : undefined;
    const routingOrAuth = error.status === 401 || error.status === 404 || error.status === 405;
    next(bodyError && !routingOrAuth ? bodyError : error);
  };
}
