// Headers on every response, set by helmet (its defaults: X-Content-Type-Options: nosniff,
// X-Frame-Options, Referrer-Policy, Strict-Transport-Security, the Cross-Origin policies...) and
// Cache-Control: no-store, since an API response may hold a token or a secret (create, token
// rotation) and none should be kept by a cache. The API answers JSON, which loads nothing: its
// Content-Security-Policy allows nothing. The docs page sets its own policy and cache headers
// (published-docs.ts).
import type { RequestHandler } from "express";
import helmet from "helmet";

export function securityHeaders(): RequestHandler[] {
  return [
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      xFrameOptions: { action: "deny" },
    }),
    (_req, res, next) => {
      res.set("Cache-Control", "no-store");
      next();
    },
  ];
}
