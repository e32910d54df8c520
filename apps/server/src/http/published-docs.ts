// What the server publishes besides the API: the rendered docs at /docs (built by
// @instances-api/docs), a redirect from / to them, and the spec it serves at /openapi.json and
// /openapi.yaml, with the right content types.
//
// The docs page is one self-contained HTML file (Redoc, inlined). Its Content-Security-Policy
// allows exactly its own inline scripts, by hash, and no script from elsewhere, no eval, no
// connection; styles may be inline (Redoc's styled-components writes <style> elements as it
// renders), fonts come as data: URLs, images may come from https (the connectors' logos). Each
// source was checked in Chromium (tests/e2e/test/docs-browser.test.ts fails on any violation).
//
// Unlike the API's answers, the page may be cached, but it changes with each release: caches keep
// it and ask each time whether it changed (`Cache-Control: no-cache`, answered `304` by ETag or
// Last-Modified), so a new release shows at once and an unchanged page costs one small round trip.
// The page (about 2.7 MB, nearly all of it Redoc) is sent compressed: the docs build writes
// brotli and gzip copies beside it, and the server picks the one the browser accepts.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { pageDigestsFile, type PageDigests } from "@instances-api/docs";
import express, { Router, type RequestHandler } from "express";
import helmet from "helmet";
import Negotiator from "negotiator";
import { stringify as toYaml } from "yaml";
import type { SpecDocument } from "@instances-api/spec-tools";

export function publishedDocs(spec: SpecDocument, docsDir: string): Router {
  const router = Router({ caseSensitive: true });
  const json = JSON.stringify(spec, null, 2);
  const yaml = toYaml(spec);

  router.get("/", (_req, res) => res.redirect(302, "/docs/"));
  router.get("/openapi.json", (_req, res) => res.type("application/json").send(json));
  router.get("/openapi.yaml", (_req, res) => res.type("application/yaml").send(yaml));
  router.use(
    "/docs",
    docsPolicy(path.join(docsDir, "index.html")),
    revalidate,
    precompressedPage(docsDir),
    // No byte ranges: a page is read whole, and a range past its end would be a 416, a status
    // the spec's catalog of problem types has no type for.
    express.static(docsDir, { index: "index.html", fallthrough: true, acceptRanges: false }),
  );
  router.get(["/docs", "/docs/"], (_req, res) => {
    res
      .status(404)
      .type("text/plain")
      .send(`The docs are not built (no ${path.join(docsDir, "index.html")}): run npm run build.\n`);
  });
  return router;
}

export function docsBuilt(docsDir: string): boolean {
  return existsSync(path.join(docsDir, "index.html"));
}

/** The page holds no secret: a cache may keep it, asking each time whether it changed (ETag, Last-Modified). */
const revalidate: RequestHandler = (_req, res, next) => {
  res.set("Cache-Control", "no-cache");
  next();
};

/** Precompressed copies of the page, best first, and the encoding each one is. */
const encodings = [
  { encoding: "br", suffix: ".br" },
  { encoding: "gzip", suffix: ".gz" },
] as const;
type Copy = (typeof encodings)[number];

/**
 * Sends the page's brotli or gzip copy to a browser that accepts it (`Accept-Encoding`, with its
 * q-values). `send` gives each copy its own ETag and Last-Modified (from its file), and answers
 * `304` to a matching `If-None-Match`/`If-Modified-Since`. Only a copy of the page as it is now is
 * sent (matchingCopies); otherwise the page goes uncompressed, as to a browser that accepts neither.
 */
function precompressedPage(docsDir: string): RequestHandler {
  const page = path.join(docsDir, "index.html");
  const copies = matchingCopies(docsDir);
  copies(); // at start-up, not on the first request
  return (req, res, next) => {
    // `/docs` (no slash) also reaches here as path "/": express.static redirects it to `/docs/`.
    const servesPage = (req.path === "/" && req.originalUrl.split("?")[0]!.endsWith("/")) || req.path === "/index.html";
    if ((req.method !== "GET" && req.method !== "HEAD") || !servesPage) return next();
    res.vary("Accept-Encoding");
    const matching = copies();
    // Browsers list gzip before br with equal weight; the order means nothing (RFC 9110 §12.5.3),
    // so among equals the smaller copy wins. Express's acceptsEncodings cannot say so; negotiator can.
    const offered = [...matching.map(({ encoding }) => encoding), "identity"];
    const [chosen] = (new Negotiator(req) as unknown as EncodingNegotiator).encodings(offered, { preferred: offered });
    const copy = matching.find(({ encoding }) => encoding === chosen);
    if (!copy) return next();
    res.set("Content-Encoding", copy.encoding);
    res.type("html");
    res.sendFile(page + copy.suffix, { cacheControl: false, acceptRanges: false }, (error) => {
      if (!error || res.headersSent) return;
      res.removeHeader("Content-Encoding"); // the Problem that answers instead is not the copy
      next(error);
    });
  };
}

/**
 * The copies that hold the page as it is now: those whose SHA-256, and the page's, are the ones the
 * docs build recorded (`PageDigests`). Content decides, not file times: npm extracts a tarball's
 * files in its own order (the packed server's copies come out older than its page), and a build
 * cut short or a page rebuilt while the server runs leaves copies of another page, whatever their
 * times. Hashing the page and both copies takes about 5 ms here (decompressing both copies to
 * compare would take 20 to 30 ms), so it is done at start-up and again only when one of the files
 * changes (its size, time or inode), as a rebuild does.
 */
function matchingCopies(docsDir: string): () => readonly Copy[] {
  const page = path.join(docsDir, "index.html");
  const files = [page, path.join(docsDir, pageDigestsFile), ...encodings.map(({ suffix }) => page + suffix)];
  let seen: { key: string; copies: readonly Copy[] } | undefined;
  return () => {
    const key = files
      .map((file) => {
        const stat = statSync(file, { throwIfNoEntry: false });
        return stat ? `${stat.ino}:${stat.size}:${stat.mtimeMs}` : "-";
      })
      .join(" ");
    if (seen?.key !== key) seen = { key, copies: verifiedCopies(page, path.join(docsDir, pageDigestsFile)) };
    return seen.copies;
  };
}

function verifiedCopies(page: string, digestsFile: string): readonly Copy[] {
  const digests = readDigests(digestsFile);
  if (!digests || sha256Of(page) !== digests.page) return [];
  return encodings.filter(({ suffix }) => {
    const expected = digests.copies[path.basename(page + suffix)];
    return expected !== undefined && sha256Of(page + suffix) === expected;
  });
}

function readDigests(file: string): PageDigests | undefined {
  try {
    const digests = JSON.parse(readFileSync(file, "utf8")) as Partial<PageDigests>;
    return typeof digests.page === "string" && typeof digests.copies === "object" && digests.copies !== null
      ? (digests as PageDigests)
      : undefined;
  } catch {
    return undefined; // not built, or written by an older build: no copy is sent
  }
}

/** The file's SHA-256, hex; undefined when it is not there. */
function sha256Of(file: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return undefined;
  }
}

/** negotiator 1.x takes the server's order among equally weighted encodings; its types (0.6) predate that. */
type EncodingNegotiator = { encodings(available: readonly string[], options: { preferred: readonly string[] }): string[] };

function docsPolicy(indexHtml: string): RequestHandler {
  const scriptHashes = inlineScriptHashes(indexHtml);
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'", () => scriptHashes()],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:", "https:"],
      fontSrc: ["'self'", "data:"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  });
}

/**
 * The CSP sources of the page's inline scripts (`'sha256-...'`), read again whenever the file
 * changes (a rebuild while the server runs), so the policy always matches the page served.
 */
function inlineScriptHashes(file: string): () => string {
  let seen: { mtimeMs: number; size: number; sources: string } | undefined;
  return () => {
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) return "";
    if (seen?.mtimeMs !== stat.mtimeMs || seen.size !== stat.size) {
      const html = readFileSync(file, "utf8");
      const hashes = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
        .filter(([, attributes]) => !/\bsrc\s*=/.test(attributes ?? ""))
        .map(
          ([, , body]) =>
            `'sha256-${createHash("sha256")
              .update(body ?? "")
              .digest("base64")}'`,
        );
      seen = { mtimeMs: stat.mtimeMs, size: stat.size, sources: [...new Set(hashes)].join(" ") };
    }
    return seen.sources;
  };
}
