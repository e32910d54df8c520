// The docs page goes out compressed (the brotli or gzip copy the docs build writes, whichever the
// browser accepts) and revalidates cheaply: Vary: Accept-Encoding, an ETag and Last-Modified per
// copy, Cache-Control: no-cache, and 304 when nothing changed. Content decides which copies may go
// (the digests the docs build records beside them), not file times: a copy older than the page, as
// npm extracts them, is sent; a copy of another page never is. Requests go through node:http,
// which, unlike fetch, neither asks for nor undoes encodings.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { docsDir as builtDocsDir, pageDigestsFile, type PageDigests } from "@instances-api/docs";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishedDocs } from "../../src/http/published-docs.js";
import { loadBundledSpec } from "../../src/spec.js";

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function get(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

function decoded(answer: Answer): string {
  const encoding = answer.headers["content-encoding"];
  if (encoding === "br") return brotliDecompressSync(answer.body).toString("utf8");
  if (encoding === "gzip") return gunzipSync(answer.body).toString("utf8");
  return answer.body.toString("utf8");
}

const page = `<!doctype html><html><head><script>console.log("docs")</script></head><body>${"Freshservice ".repeat(2000)}</body></html>`;
let dir: string;
let server: Server;
let url: string;

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** Writes the page, both copies and their digests as the docs build does, each file a second newer than the one before. */
function writeDocs(): void {
  const file = path.join(dir, "index.html");
  const brotli = brotliCompressSync(page);
  const gzip = gzipSync(page);
  writeFileSync(file, page);
  writeFileSync(`${file}.br`, brotli);
  writeFileSync(`${file}.gz`, gzip);
  const digests: PageDigests = { page: sha256(page), copies: { "index.html.br": sha256(brotli), "index.html.gz": sha256(gzip) } };
  writeFileSync(path.join(dir, pageDigestsFile), JSON.stringify(digests));
  const now = Date.now() / 1000;
  utimesSync(file, now - 10, now - 10);
  utimesSync(`${file}.br`, now - 9, now - 9);
  utimesSync(`${file}.gz`, now - 9, now - 9);
  utimesSync(path.join(dir, pageDigestsFile), now - 8, now - 8);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "instances-api-docs-"));
  writeDocs();
  const app = express();
  app.use(publishedDocs(loadBundledSpec(), dir));
  server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/docs/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe("the docs page, compressed", () => {
  it.each([
    ["a browser's list (gzip named first, equal weights): brotli, the smaller", "gzip, deflate, br, zstd", "br"],
    ["brotli only", "br", "br"],
    ["gzip only", "gzip", "gzip"],
    ["brotli refused (q=0)", "br;q=0, gzip", "gzip"],
    ["brotli weighted lower", "br;q=0.5, gzip", "gzip"],
    ["anything (*)", "*", "br"],
    ["identity only", "identity", undefined],
    ["no Accept-Encoding", "", undefined],
  ])("honours Accept-Encoding: %s", async (_name, acceptEncoding, expected) => {
    const answer = await get(url, acceptEncoding ? { "Accept-Encoding": acceptEncoding } : {});
    expect(answer.status).toBe(200);
    expect(answer.headers["content-encoding"]).toBe(expected);
    expect(answer.headers["content-type"]).toMatch(/^text\/html/);
    expect(answer.headers.vary).toMatch(/\bAccept-Encoding\b/i);
    expect(Number(answer.headers["content-length"])).toBe(answer.body.length);
    expect(decoded(answer)).toBe(page);
    if (expected) expect(answer.body.length).toBeLessThan(page.length / 10);
  });

  it("keeps the page's Content-Security-Policy and cache policy on every copy", async () => {
    for (const acceptEncoding of ["br", "gzip", "identity"]) {
      const answer = await get(url, { "Accept-Encoding": acceptEncoding });
      expect(answer.headers["content-security-policy"], acceptEncoding).toMatch(/script-src 'self' 'sha256-/);
      expect(answer.headers["cache-control"], acceptEncoding).toBe("no-cache");
      expect(answer.headers["last-modified"], acceptEncoding).toBeDefined();
    }
  });

  it("gives each encoding its own ETag, and answers 304 to a revalidation", async () => {
    const etags = new Set<string>();
    for (const acceptEncoding of ["br", "gzip", "identity"]) {
      const first = await get(url, { "Accept-Encoding": acceptEncoding });
      const etag = first.headers.etag!;
      expect(etag, acceptEncoding).toBeTruthy();
      etags.add(etag);
      const byEtag = await get(url, { "Accept-Encoding": acceptEncoding, "If-None-Match": etag });
      expect(byEtag.status, acceptEncoding).toBe(304);
      expect(byEtag.body.length).toBe(0);
      expect(byEtag.headers.vary).toMatch(/\bAccept-Encoding\b/i);
      const byDate = await get(url, { "Accept-Encoding": acceptEncoding, "If-Modified-Since": first.headers["last-modified"]! });
      expect(byDate.status, acceptEncoding).toBe(304);
    }
    expect(etags.size).toBe(3);
    // Another encoding's ETag does not match: the browser gets the whole copy it asked for.
    const gzipEtag = (await get(url, { "Accept-Encoding": "gzip" })).headers.etag!;
    const mismatch = await get(url, { "Accept-Encoding": "br", "If-None-Match": gzipEtag });
    expect(mismatch.status).toBe(200);
    expect(decoded(mismatch)).toBe(page);
  });

  it("answers HEAD with the headers of the copy, and no body", async () => {
    const head = await get(url, { "Accept-Encoding": "br" }, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-encoding"]).toBe("br");
    expect(head.body.length).toBe(0);
  });

  it("sends copies older than the page when they hold it (as npm extracts a tarball: the page last)", async () => {
    const file = path.join(dir, "index.html");
    const now = Date.now() / 1000;
    utimesSync(file, now, now);
    try {
      for (const [acceptEncoding, expected] of [
        ["br, gzip", "br"],
        ["gzip", "gzip"],
      ] as const) {
        const answer = await get(url, { "Accept-Encoding": acceptEncoding });
        expect(answer.headers["content-encoding"], acceptEncoding).toBe(expected);
        expect(decoded(answer)).toBe(page);
      }
    } finally {
      writeDocs();
    }
  });

  it("never sends a copy of another page (the page rebuilt, its copies and digests not, whatever the times): the page goes uncompressed", async () => {
    const file = path.join(dir, "index.html");
    const rebuilt = page.replace("Freshservice", "SugarCRM");
    writeFileSync(file, rebuilt);
    const past = Date.now() / 1000 - 60;
    utimesSync(file, past, past); // older than its copies: times would have let them through
    try {
      const answer = await get(url, { "Accept-Encoding": "br, gzip" });
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.body.toString("utf8")).toBe(rebuilt);
      expect(answer.headers.vary).toMatch(/\bAccept-Encoding\b/i);
    } finally {
      writeDocs();
    }
  });

  it("never sends a copy that is not the one recorded (a build cut short between the copies and the digests)", async () => {
    writeFileSync(path.join(dir, "index.html.br"), brotliCompressSync(page.replace("Freshservice", "SugarCRM")));
    try {
      const answer = await get(url, { "Accept-Encoding": "br, gzip" });
      expect(answer.headers["content-encoding"]).toBe("gzip");
      expect(decoded(answer)).toBe(page);
    } finally {
      writeDocs();
    }
  });

  it("sends no copy without the digests (docs built before they were recorded)", async () => {
    rmSync(path.join(dir, pageDigestsFile));
    try {
      const answer = await get(url, { "Accept-Encoding": "br, gzip" });
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.body.toString("utf8")).toBe(page);
    } finally {
      writeDocs();
    }
  });

  it("sends the other copy when one is missing", async () => {
    rmSync(path.join(dir, "index.html.br"));
    try {
      const answer = await get(url, { "Accept-Encoding": "br, gzip" });
      expect(answer.headers["content-encoding"]).toBe("gzip");
      expect(decoded(answer)).toBe(page);
    } finally {
      writeDocs();
    }
  });
});

describe("the built docs page", () => {
  it("has both copies, each the page itself, brotli under a quarter of its size, and their digests", () => {
    const built = path.join(builtDocsDir, "index.html");
    const html = readFileSync(built);
    const brotli = readFileSync(`${built}.br`);
    const gzip = readFileSync(`${built}.gz`);
    expect(brotliDecompressSync(brotli).equals(html)).toBe(true);
    expect(gunzipSync(gzip).equals(html)).toBe(true);
    expect(brotli.length).toBeLessThan(html.length / 4);
    expect(JSON.parse(readFileSync(path.join(builtDocsDir, pageDigestsFile), "utf8"))).toEqual({
      page: sha256(html),
      copies: { "index.html.br": sha256(brotli), "index.html.gz": sha256(gzip) },
    });
  });
});
