// Authentication, once per request and before the body is read: authenticateCaller() finds the
// caller from the Authorization header (the account from the cache, else one indexed read; the
// instance of an `Element` part always with one indexed read) and keeps the outcome on
// res.locals. Valid credentials are always let in; unknown ones (a wrong Element token included)
// count against the client address and get 429 once it has spent its failures
// (authentication-throttle.ts states the rule). Otherwise the outcome is kept without answering,
// so that an unknown path still gets 404 and a wrong method 405 from the validator. The body
// parser reads and parses a body only for an authenticated caller (an anonymous 1 MB body costs
// no parse). The validator's security step (the spec's UserOrganization and
// UserOrganizationElement schemes) then only reads the outcome, and the routes read the caller
// with callerOf(req).
//
// Why the Element part is never cached: a token rotation (POST /instances/{id}/token) must stop
// the old token at once, on every replica. A cache in each process cannot learn of a rotation
// made on another replica without a channel between them, and any time-to-live would let a
// rotated token in for that long. The read it saves is one lookup of a 32-byte hash in an index
// scoped by organization, far cheaper than the request it guards; the account part, which only
// the CLI rotates, stays cached as before (its bound is in docs/security-and-limits.md).
import type { Request, RequestHandler, Response } from "express";
import { ApiError, TooManyRequestsError, UnauthorizedError } from "../errors.js";
import {
  AuthenticationCache,
  authenticationCacheKey,
  lookUpCaller,
  lookUpInstanceToken,
  parseAuthorization,
  type Credentials,
} from "./accounts.js";
import { AuthenticationThrottle } from "./authentication-throttle.js";
import type { AccountStore, Caller, InstanceTokenStore } from "./store.js";

interface AuthenticationLocals {
  caller?: Caller;
  /** Why there is no caller: a 401, or a failure that is not the caller's (the database away: 503). */
  authenticationFailure?: unknown;
}

const localsOf = (res: Response) => res.locals as AuthenticationLocals;

/** A failure that is the caller's (wrong or missing secrets: 401), not the server's (the database away). */
const isCallersFault = (error: unknown): error is ApiError => error instanceof ApiError && error.status === 401;

export function authenticateCaller(
  store: AccountStore,
  instanceTokens: InstanceTokenStore,
  throttle: AuthenticationThrottle,
): RequestHandler {
  const cache = new AuthenticationCache();
  // Account lookups in flight, by key: concurrent requests of one caller share one read.
  const inFlight = new Map<string, Promise<Caller>>();

  const lookUpAccount = (credentials: Credentials | undefined, key: string | undefined): Promise<Caller> => {
    const running = key === undefined ? undefined : inFlight.get(key);
    if (running) return running;
    const startedAt = Date.now(); // before the read: a rotation after it is let in at most the cache's time after itself
    const lookup = lookUpCaller(store, credentials);
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

  // The instance is read by each request itself, never from a cache nor from another request's
  // read in flight (which may have started before a rotation this request comes after).
  const lookUp = async (credentials: Credentials | undefined, key: string | undefined, cached: Caller | undefined): Promise<Caller> => {
    const account = cached ?? (await lookUpAccount(credentials, key));
    if (credentials?.instanceToken === undefined) return account;
    return { ...account, instanceId: await lookUpInstanceToken(instanceTokens, account, credentials.instanceToken) };
  };

  return (req, res, next) => {
    const credentials = parseAuthorization(req.get("Authorization"));
    const key = credentials && authenticationCacheKey(credentials);
    const cached = key === undefined ? undefined : cache.get(key);
    if (cached && credentials?.instanceToken === undefined) {
      localsOf(res).caller = cached;
      return next();
    }
    void (async () => {
      try {
        localsOf(res).caller = await lookUp(credentials, key, cached);
      } catch (error) {
        localsOf(res).authenticationFailure = error;
        // Only the caller's failures count (the database away is the server's).
        const verdict = isCallersFault(error) ? await throttle.countFailure(AuthenticationThrottle.addressOf(req)) : undefined;
        if (verdict?.refused) {
          return next(
            new TooManyRequestsError(
              `Too many failed authentications from this address; retry in ${verdict.retryAfterSeconds} s`,
              verdict.retryAfterSeconds,
            ),
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

const needsInstanceToken =
  "This operation needs the instance token: Authorization: User <user secret>, Organization <organization secret>, Element <instance token>";

/**
 * Why the validator's security step refused the request, as the caller should read it (the
 * validator's own 401 says only "unauthorized"): the caller's failure kept above (wrong secrets,
 * a wrong Element token), or, for a known caller, that the operation needs the Element form.
 */
export function authenticationRefusal(res: Response): ApiError {
  const { caller, authenticationFailure } = localsOf(res);
  if (isCallersFault(authenticationFailure)) return authenticationFailure;
  return new UnauthorizedError(caller ? needsInstanceToken : undefined);
}

/**
 * What a security handler throws for a caller its scheme does not let in. The validator reads only
 * its status: it tries every scheme of the operation, and when none let the caller in, the 401 is
 * worked out again from the outcome kept above (validator-verdict.ts). Made once, because it is
 * thrown for nearly every request: most operations take either scheme, and the Element one refuses
 * a caller without a token; an error made per request (its stack captured) was 4 % of a read's CPU.
 */
export const schemeRefusal: Error & { readonly status: 401 } = Object.freeze(
  Object.assign(new Error("the caller does not satisfy this security scheme"), { status: 401 as const }),
);

/** A handler of a security scheme of the spec, for the validator: whether the outcome kept above satisfies it. */
function handlerFor(satisfies: (caller: Caller) => boolean) {
  return (req: Request): boolean => {
    const res = req.res!;
    const { caller, authenticationFailure } = localsOf(res);
    if (caller && satisfies(caller)) return true;
    if (caller || isCallersFault(authenticationFailure)) throw schemeRefusal;
    // The validator turns any other error of a security handler into a 401 or a 500; the real
    // one (the database unreachable: 503; a fault) is restored after it.
    throw Object.assign(new Error("authentication could not be done"), { status: 500 });
  };
}

/** The handler of the spec's UserOrganization scheme: any known caller (with an Element part or without). */
export function securityHandler() {
  return handlerFor(() => true);
}

/** The handler of the spec's UserOrganizationElement scheme: a caller whose header named one of its instances. */
export function elementSecurityHandler() {
  return handlerFor((caller) => caller.instanceId !== undefined);
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

/** The caller of an operation behind the UserOrganizationElement scheme, with the instance its token names. */
export function instanceCallerOf(req: Request): Caller & { instanceId: number } {
  const caller = callerOf(req);
  if (caller.instanceId === undefined) throw new Error("no instance token: the route is not behind the Element security check");
  return { ...caller, instanceId: caller.instanceId };
}
