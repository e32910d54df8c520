// @instances-api/docs: where the built docs are, for the server that serves them.
import { fileURLToPath } from "node:url";

/** The folder holding the built docs (index.html); `npm run build` writes it. */
export const docsDir = fileURLToPath(new URL("../dist/", import.meta.url));

/**
 * Beside the page, the build writes its brotli and gzip copies (`index.html.br`, `index.html.gz`)
 * and, last, this record of what they were made from: the SHA-256 (hex) of the page and of each
 * copy, by file name. A server sends a copy only while both digests match the files: that decides
 * by content, which survives what file times do not (npm extracts a tarball's files in its own
 * order, a copy may come out older than its page) and never passes a copy of another page.
 */
export const pageDigestsFile = "index.html.digests.json";

export interface PageDigests {
  /** SHA-256 of index.html, hex. */
  page: string;
  /** SHA-256 of each compressed copy, hex, by its file name (`index.html.br`). */
  copies: Record<string, string>;
}
