// The list's page cursor: opaque to callers, it holds the last id shown and a fingerprint of the
// filters it was issued for, so it cannot be replayed against other filters by mistake. A cursor is
// accepted only as it was issued, byte for byte: base64url decoding skips stray characters and
// JSON reads `1e0` as 1, so a lenient reading would give one page many spellings.
import { createHash } from "node:crypto";
import { InvalidRequestError } from "../errors.js";

export interface ListFilters {
  tags: string[];
  connectorKey: string | undefined;
}

function fingerprint({ tags, connectorKey }: ListFilters): string {
  const canonical = JSON.stringify([[...new Set(tags)].sort(), connectorKey ?? null]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodeCursor(afterId: number, filters: ListFilters): string {
  return Buffer.from(JSON.stringify({ a: afterId, f: fingerprint(filters) })).toString("base64url");
}

function notIssued(): InvalidRequestError {
  return new InvalidRequestError("nextPage is not a cursor this server issued", [
    { path: "/query/nextPage", message: "is not a valid cursor" },
  ]);
}

/** The id to list after; 0 without a cursor. */
export function decodeCursor(cursor: string | undefined, filters: ListFilters): number {
  if (cursor === undefined) return 0;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    decoded = undefined;
  }
  const { a, f } = (decoded ?? {}) as { a?: unknown; f?: unknown };
  if (typeof a !== "number" || !Number.isSafeInteger(a) || a < 0 || typeof f !== "string") throw notIssued();
  if (f !== fingerprint(filters)) {
    throw new InvalidRequestError("nextPage was issued for other filters; pass the same tags and your_mom as on the first page", [
      { path: "/query/nextPage", message: "was issued for other filters" },
    ]);
  }
  if (encodeCursor(a, filters) !== cursor) throw notIssued();
  return a;
}
