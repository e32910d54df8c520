// Authentication for express-openapi-validator's security check: the handler of the spec's
// UserOrganization scheme finds the caller, and the routes read it back with callerOf(req).
import type { ErrorRequestHandler, Request } from "express";
import { ApiError } from "../errors.js";
import { AuthenticationCache, authenticate } from "./accounts.js";
import type { AccountStore, Caller } from "./store.js";

const callers = new WeakMap<Request, Caller>();
// The validator turns any error of a security handler into a 401 or, past 415, a 500: the
// handler's other failures (the database unreachable: 503; a fault) are kept here and restored.
const failures = new WeakMap<Request, unknown>();

export function securityHandler(store: AccountStore) {
  const cache = new AuthenticationCache();
  return async (req: Request): Promise<boolean> => {
    try {
      callers.set(req, await authenticate(store, req.get("Authorization"), cache));
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) throw error;
      failures.set(req, error);
      throw Object.assign(new Error("authentication could not be done"), { status: 500 });
    }
  };
}

/** After the validator: the security handler's own failure, in place of the validator's 500. */
export function restoreAuthenticationFailure(): ErrorRequestHandler {
  return (error: unknown, req, _res, next) => next(failures.has(req) ? failures.get(req) : error);
}

export function callerOf(req: Request): Caller {
  const caller = callers.get(req);
  if (!caller) throw new Error("no authenticated caller: the route is not behind the security check");
  return caller;
}
