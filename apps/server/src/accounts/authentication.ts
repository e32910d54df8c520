// Authentication, once per request and before the body is read: authenticateCaller() finds the
// caller from the Authorization header (from the cache, else one indexed read) and keeps the
// outcome on res.locals. Valid credentials are always let in; unknown ones count against the
// client address and get 429 once it has spent its failures (authentication-throttle.ts states
// the rule). Otherwise the outcome is kept without answering, so
// that an unknown path still gets 404 and a wrong method 405 from the validator. The body parser
// reads and parses a body only for an authenticated caller (an anonymous 1 MB body costs no
// parse). The validator's security step (the spec's UserOrganization scheme) then only reads the
// outcome, and the routes read the caller with callerOf(req).
import type { Request, RequestHandler, Response } from "express";
import { ApiError, TooManyRequestsError } from "../errors.js";
import { AuthenticationCache, authenticationCacheKey, lookUpCaller } from "./accounts.js";
import { AuthenticationThrottle } from "./authentication-throttle.js";
import type { AccountStore, Caller } from "./store.js";

interface AuthenticationLocals {
  caller?: Caller;
  /** Why there is no caller: a 401, or a failure that is not the caller's (the database away: 503). */
  authenticationFailure?: unknown;
}

const localsOf = (res: Response) => res.locals as AuthenticationLocals;

/** A failure that is the caller's (wrong or missing secrets: 401), not the server's (the database away). */
const isCallersFault = (error: unknown): error is ApiError => error instanceof ApiError && error.status === 401;

export function authenticateCaller(store: AccountStore, throttle: AuthenticationThrottle): RequestHandler {
  const cache = new AuthenticationCache();
  // Lookups in flight, by header: concurrent requests of one caller share one read.
  const inFlight = new Map<string, Promise<Caller>>();

  const lookUp = (header: string | undefined, key: string | undefined): Promise<Caller> => {
    const running = key === undefined ? undefined : inFlight.get(key);
    if (running) return running;
    const startedAt = Date.now(); // before the read: a rotation after it is let in at most the cache's time after itself
    const lookup = lookUpCaller(store, header);
    if (key !== undefined) {
      inFlight.set(key, lookup);
      void lookup
        .then(
          (caller) => cache.set(key, caller, startedAt),
          () => undefined,
        )
        .finally(() => inFlight.delete(key));
    }
    return lookup;
  };

  return (req, res, next) => {
    const header = req.get("Authorization");
    const key = header === undefined ? undefined : authenticationCacheKey(header);
    const cached = key === undefined ? undefined : cache.get(key);
    if (cached) {
      localsOf(res).caller = cached;
      return next();
    }
    void (async () => {
      try {
        localsOf(res).caller = await lookUp(header, key);
      } catch (error) {
        localsOf(res).authenticationFailure = error;
        // Only the caller's failures count (the database away is the server's).
        const verdict = isCallersFault(error) ? await throttle.countFailure(AuthenticationThrottle.addressOf(req)) : undefined;
        if (verdict?.refused) {
          res.set("Retry-After", String(verdict.retryAfterSeconds));
          return next(
            new TooManyRequestsError(`Too many failed authentications from this address; retry in ${verdict.retryAfterSeconds} s`),
          );
        }
      }
      next();
    })().catch(next);
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
    if (isCallersFault(authenticationFailure)) throw authenticationFailure;
    // The validator turns any other error of a security handler into a 401 or a 500; the real
    // one (the database unreachable: 503; a fault) is restored after it.
    throw Object.assign(new Error("authentication could not be done"), { status: 500 });
  };
}

/**
 * A failure of authentication that was not the caller's (the database away), if there was one:
 * the validator only saw the security handler refuse, and answers 500 for it.
 */
export function serverSideAuthenticationFailure(res: Response): unknown {
  const { caller, authenticationFailure } = localsOf(res);
  return !caller && authenticationFailure !== undefined && !isCallersFault(authenticationFailure) ? authenticationFailure : undefined;
}

export function callerOf(req: Request): Caller {
  const caller = req.res && localsOf(req.res).caller;
  if (!caller) throw new Error("no authenticated caller: the route is not behind the security check");
  return caller;
}
