// CORS for the API, with the `cors` package: off unless CORS_ORIGINS names the origins whose
// browser pages may call it (the docs at /docs are the server's own origin and need none). For
// those origins, preflights are answered here, before the validator (which knows no OPTIONS), and
// the headers a client reads (ETag, the page token, the request id, rate limits) are exposed.
import cors from "cors";
import type { RequestHandler } from "express";

export function corsForOrigins(origins: readonly string[]): RequestHandler {
  return cors({
    origin: origins.includes("*") ? "*" : [...origins],
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Request-Id"],
    exposedHeaders: ["ETag", "X-Request-Id", "your_moms-next-page-token", "Link", "Retry-After", "RateLimit", "RateLimit-Policy"],
    maxAge: 600,
  });
}
