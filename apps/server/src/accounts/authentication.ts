// Authentication, once per request and before the body is read: authenticateCaller() finds the
// caller from the Authorization header (failed guesses throttled per client address, see
// authentication-throttle.ts) and keeps the outcome on res.locals, without answering, so
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
  // Lookups in flight, by header: concurrent requests of one caller share one lookup (and one
  // reservation), so a valid caller's burst never counts against its own address.
  const inFlight = new Map<string, Promise<Caller>>();

  const lookUp = (header: string | undefined, key: string | undefined): { lookup: Promise<Caller>; shared: boolean } => {
    const running = key === undefined ? undefined : inFlight.get(key);
    if (running) return { lookup: running, shared: true };
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
    return { lookup, shared: false };
  };

  return (req, res, next) => {
    const header = req.get("Authorization");
    const key = header === undefined ? undefined : authenticationCacheKey(header);
    const cached = key === undefined ? undefined : cache.get(key);
    if (cached) {
      localsOf(res).caller = cached;
      return next();
    }
    const address = AuthenticationThrottle.addressOf(req);
    void (async () => {
      const admission = await throttle.reserve(address);
      if (!admission.admitted) {
        res.set("Retry-After", String(admission.retryAfterSeconds));
        return next(
          new TooManyRequestsError(`Too many failed authentications from this address; retry in ${admission.retryAfterSeconds} s`),
        );
      }
      const { lookup, shared } = lookUp(header, key);
      if (shared) await throttle.release(address); // the first request's reservation stands for this guess
      try {
        localsOf(res).caller = await lookup;
        if (!shared) await throttle.release(address);
      } catch (error) {
        localsOf(res).authenticationFailure = error;
        if (!isCallersFault(error) && !shared) await throttle.release(address);
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
