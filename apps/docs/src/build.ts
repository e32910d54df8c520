// `npm run build`: writes dist/openapi.docs.json (the document the docs render) and dist/index.html,
// rendered by Redocly with Redoc inlined (--inlineBundle), so the page needs no network; then the
// page's brotli and gzip copies and, last, the digests that tie them to it (index.ts says why).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib, { brotliCompressSync, gzipSync } from "node:zlib";
import type { SpecDocument } from "@instances-api/spec-tools";
import { docsDocument } from "./docs-document.js";
import { pageDigestsFile, type PageDigests } from "./index.js";
import { readSamples } from "./samples.js";

const require = createRequire(import.meta.url);
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const dist = path.join(packageDir, "dist");
const bundle = JSON.parse(readFileSync(require.resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;

mkdirSync(dist, { recursive: true });
const documentFile = path.join(dist, "openapi.docs.json");
writeFileSync(documentFile, JSON.stringify(docsDocument(bundle, readSamples), null, 2));

const redocly = path.join(path.dirname(require.resolve("@redocly/cli/package.json")), "bin", "cli.js");
execFileSync(
  process.execPath,
  [
    redocly,
    "build-docs",
    documentFile,
    "--output",
    path.join(dist, "index.html"),
    "--inlineBundle",
    "--title",
    "Instances API",
    "--config",
    path.join(packageDir, "redocly.yaml"),
    "--lint-config",
    "off",
  ],
  { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" } },
);
// Redoc still names two CDN images (its own logo, shown in the sidebar) and gives the page no icon,
// so a browser asks the network for the logo and the server for /favicon.ico (a 404). The page
// must not send a request anywhere: the logo becomes a small local picture and the icon an empty one.
const page = path.join(dist, "index.html");
const localLogo = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" rx="3" fill="#32329f"/></svg>')}`;
// Our layout fixes over Redoc's styles (src/page.css says which and why).
const pageCss = readFileSync(path.join(packageDir, "src", "page.css"), "utf8");
const html = readFileSync(page, "utf8")
  .replaceAll("https://cdn.redoc.ly/redoc/logo-mini-full.svg", localLogo)
  .replaceAll("https://cdn.redoc.ly/redoc/logo-mini.svg", localLogo)
  .replace("<head>", () => `<head>\n  <link rel="icon" href="data:,">\n  <style>\n${pageCss}</style>`);
if (html.includes("cdn.redoc.ly") || !html.includes('rel="icon"'))
  throw new Error("docs: Redoc's page changed: it still names cdn.redoc.ly or has no <head>");
writeFileSync(page, html);
// The page changes only when it is built, so it is compressed once, here, at the best ratios
// (brotli 11 takes seconds: too slow per request), and the server sends the variant a browser
// accepts (apps/server/src/http/published-docs.ts), if the digests written last still match them.
const bytes = Buffer.from(html, "utf8");
const brotli = brotliCompressSync(bytes, {
  params: {
    [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
  },
});
const gzip = gzipSync(bytes, { level: zlib.constants.Z_BEST_COMPRESSION });
writeFileSync(`${page}.br`, brotli);
writeFileSync(`${page}.gz`, gzip);
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const digests: PageDigests = { page: sha256(bytes), copies: { "index.html.br": sha256(brotli), "index.html.gz": sha256(gzip) } };
writeFileSync(path.join(dist, pageDigestsFile), `${JSON.stringify(digests, null, 2)}\n`);
const kB = (n: number) => `${Math.round(n / 1000)} kB`;
console.log(`docs: ${page} (${kB(bytes.length)}; brotli ${kB(brotli.length)}, gzip ${kB(gzip.length)})`);
