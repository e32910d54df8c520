// Authentication, once per request and before the body is read: authenticateCaller() finds the
// caller from the Authorization header and keeps the outcome on res.locals, without answering, so
// that an unknown path still gets 404 and a wrong method 405 from the validator. The body parser
// reads and parses a body only for an authenticated caller (an anonymous 1 MB body costs no
// parse). The validator's security step (the spec's UserOrganization scheme) then only reads the
// outcome, and the routes read the caller with callerOf(req).
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import { ApiError } from "../errors.js";
import { AuthenticationCache, authenticate } from "./accounts.js";
import type { AccountStore, Caller } from "./store.js";

interface AuthenticationLocals {
  caller?: Caller;
  /** Why there is no caller: a 401, or a failure that is not the caller's (the database away: 503). */
  authenticationFailure?: unknown;
}

const localsOf = (res: Response) => res.locals as AuthenticationLocals;

export function authenticateCaller(store: AccountStore): RequestHandler {
  const cache = new AuthenticationCache();
  return (req, res, next) => {
    authenticate(store, req.get("Authorization"), cache).then(
      (caller) => {
        localsOf(res).caller = caller;
        next();
      },
      (error: unknown) => {
        localsOf(res).authenticationFailure = error;
        next();
      },
    );
  };
}

/** Whether the request's caller is known (the body parser reads bodies only then). */
export function isAuthenticated(res: Response): boolean {
  return localsOf(res).caller !== undefined;
}

/** The handler of the spec's UserOrganization scheme, for the validator: the outcome kept above. */
export function securityHandler() {
  return (req: Request): boolean => {
    const { caller, authenticationFailure } = localsOf(req.res!);
    if (caller) return true;
    if (authenticationFailure instanceof ApiError && authenticationFailure.status === 401) throw authenticationFailure;
    // The validator turns any other error of a security handler into a 401 or a 500; the real
    // one (the database unreachable: 503; a fault) is restored after it.
    throw Object.assign(new Error("authentication could not be done"), { status: 500 });
  };
}

/** After the validator: a failure of authentication that was not the caller's, in place of the validator's 500. */
export function restoreAuthenticationFailure(): ErrorRequestHandler {
  return (error: unknown, _req, res, next) => {
    const { caller, authenticationFailure } = localsOf(res);
    const notTheCallers =
      !caller &&
      authenticationFailure !== undefined &&
      !(authenticationFailure instanceof ApiError && authenticationFailure.status === 401);
    next(notTheCallers ? authenticationFailure : error);
  };
}

export function callerOf(req: Request): Caller {
  const caller = req.res && localsOf(req.res).caller;
  if (!caller) throw new Error("no authenticated caller: the route is not behind the security check");
  return caller;
}
