// Authentication for express-openapi-validator's security check: the handler of the spec's
// UserOrganization scheme finds the caller, and the routes read it back with callerOf(req).
import type { Request } from "express";
import { ApiError } from "../errors.js";
import { authenticate } from "./accounts.js";
import type { AccountStore, Caller } from "./store.js";

const callers = new WeakMap<Request, Caller>();

export function securityHandler(store: AccountStore) {
  return async (req: Request): Promise<boolean> => {
    try {
      callers.set(req, await authenticate(store, req.get("Authorization")));
      return true;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      // The validator turns a handler's error without a status into a 401: a fault is not that.
      req.log.error({ err: error }, "authentication failed unexpectedly");
      throw Object.assign(new Error("authentication failed unexpectedly"), { status: 500 });
    }
  };
}

export function callerOf(req: Request): Caller {
  const caller = callers.get(req);
  if (!caller) throw new Error("no authenticated caller: the route is not behind the security check");
  return caller;
}
