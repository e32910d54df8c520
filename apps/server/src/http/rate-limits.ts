// Abuse limits at the edge, with express-rate-limit's counting and windows:
// - failed authentication per client address: an address past its failures in a minute gets
//   429 for every request until the minute is over, so guessing secrets is slow, while callers at
//   other addresses are not touched. Only failures count: a valid caller's requests in flight
//   must never push its own address over the limit, so the count is raised when a 401 is sent
//   and checked before the next request is authenticated;
// - requests per organization (off unless configured), with the IETF RateLimit headers.
// Counts live in the process: with several replicas each keeps its own (the README says so).
import type { RequestHandler } from "express";
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from "express-rate-limit";
import { callerOf } from "../accounts/authentication.js";
import { TooManyRequestsError } from "../errors.js";

const windowMs = 60_000;

export function throttleAuthenticationFailures(failuresPerMinute: number): RequestHandler {
  const failures = new MemoryStore();
  failures.init({ windowMs } as Options);
  return (req, res, next) => {
    const address = ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? "unknown");
    failures.get(address).then((seen) => {
      if (seen && seen.totalHits >= failuresPerMinute) {
        const seconds = Math.max(1, Math.ceil(((seen.resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
        res.set("Retry-After", String(seconds));
        return next(new TooManyRequestsError(`Too many failed authentications from this address; retry in ${seconds} s`));
      }
      res.once("finish", () => {
        if (res.statusCode === 401) void failures.increment(address);
      });
      next();
    }, next);
  };
}

/** After authentication: at most `perMinute` requests per organization and minute. */
export function limitOrganizationRequests(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs,
    limit: perMinute,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    identifier: "organization",
    keyGenerator: (req) => String(callerOf(req).organizationId),
    handler: (_req, res, next) =>
      next(new TooManyRequestsError(`Too many requests for this organization; retry in ${res.get("Retry-After") ?? "a few"} s`)),
    validate: { xForwardedForHeader: false },
  });
}
