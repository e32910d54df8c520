// Headers on every response, as helmet sets them (its defaults: X-Content-Type-Options: nosniff,
// X-Frame-Options, Referrer-Policy, Strict-Transport-Security, the Cross-Origin policies...) and
// Cache-Control: no-store, since an API response may hold a token or a secret (create, token
// rotation) and none should be kept by a cache. The API answers JSON, which loads nothing: its
// Content-Security-Policy allows nothing. The docs page sets its own policy and cache headers
// (published-docs.ts).
import type { RequestHandler, Response } from "express";
import helmet from "helmet";

export const helmetFor = () =>
  helmet({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    xFrameOptions: { action: "deny" },
  });

/**
 * What helmet sets, read once. With this configuration (no directive computed per request) its
 * headers are the same on every response; helmet's thirteen nested middlewares cost more per
 * request than setting their result. A test compares the two.
 */
export function helmetHeaders(): [name: string, value: string][] {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: string) => headers.push([name, value]),
    removeHeader: () => undefined,
  } as unknown as Response;
  let done = false;
  (helmetFor() as unknown as RequestHandler)({} as never, recorder, () => (done = true));
  if (!done) throw new Error("helmet did not finish synchronously: its headers cannot be read once");
  return headers;
}

export function securityHeaders(): RequestHandler {
  const headers: [string, string][] = [...helmetHeaders(), ["Cache-Control", "no-store"]];
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}
