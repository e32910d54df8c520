// The per-organization request limit (off unless configured), with express-rate-limit and its
// IETF RateLimit headers. It counts by the caller's organization, never by address: neither
// TRUST_PROXY nor an X-Forwarded-For header changes whose requests are counted, and
// express-rate-limit's address checks (which belong to its own, address-keyed key generator) do
// not apply. (Failed authentication is throttled per address where the caller is authenticated:
// accounts/authentication-throttle.ts.) Counts live in the process: with several replicas each
// keeps its own (docs/postgresql-and-replicas.md says so).
import type { RequestHandler } from "express";
import { rateLimit } from "express-rate-limit";
import { callerOf, isAuthenticated } from "../accounts/authentication.js";
import { TooManyRequestsError } from "../errors.js";

/** After authentication: at most `perMinute` requests per organization and minute. */
export function limitOrganizationRequests(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    identifier: "organization",
    // Anonymous requests are the throttle's and the validator's business; they count for no organization.
    skip: (req) => !isAuthenticated(req.res!),
    keyGenerator: (req) => String(callerOf(req).organizationId),
    handler: (_req, res, next) =>
      next(new TooManyRequestsError(`Too many requests for this organization; retry in ${res.get("Retry-After") ?? "a few"} s`)),
  });
}
