// The reads by key on the event loop (src/sqlite-point-reads.ts): what becomes of what SQLite throws.
import { describe, expect, it } from "vitest";
import { DatabaseUnavailableError } from "../src/database/errors.js";
import { readInPlace } from "../src/sqlite-point-reads.js";

const sqliteError = (code: string) => Object.assign(new Error(code), { code });
const elsewhere = (...args: unknown[]) => Promise.resolve({ readElsewhere: args });

describe("a read by key on the event loop", () => {
  it.each([
    ["answers what it read", () => Promise.resolve("row"), "row"],
    ["goes to a reader thread when SQLite is busy", () => Promise.reject(sqliteError("SQLITE_BUSY")), { readElsewhere: [7, "x"] }],
    [
      "goes to a reader thread when a table is locked",
      () => Promise.reject(sqliteError("SQLITE_LOCKED_SHAREDCACHE")),
      { readElsewhere: [7, "x"] },
    ],
  ] as const)("%s", async (_, read, want) => {
    await expect(readInPlace(read, elsewhere)(7, "x")).resolves.toEqual(want);
  });

  it.each(["SQLITE_IOERR_READ", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CANTOPEN"])(
    "turns %s into the 503 of an unavailable database",
    async (code) => {
      await expect(readInPlace(() => Promise.reject(sqliteError(code)), elsewhere)()).rejects.toBeInstanceOf(DatabaseUnavailableError);
    },
  );

  it("throws any other error as it was", async () => {
    const thrown = sqliteError("SQLITE_ERROR");
    await expect(readInPlace(() => Promise.reject(thrown), elsewhere)()).rejects.toBe(thrown);
  });
});
