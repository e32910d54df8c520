// Group commit: writes of one event-loop turn share a transaction, each in its own savepoint,
// and settle only after the commit.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { groupCommit } from "../../src/database/group-commit.js";
import { openSqlite } from "../../src/database/sqlite.js";

function database() {
  const db = openSqlite(path.join(mkdtempSync(path.join(tmpdir(), "group-commit-")), "db.sqlite"), [
    { version: 1, name: "t", sql: "CREATE TABLE t (v INTEGER NOT NULL UNIQUE)" },
  ]);
  return db;
}

describe("groupCommit", () => {
  it("commits the writes of one turn together, and a failing one alone is undone", async () => {
    const db = database();
    const commit = groupCommit(db);
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    const outcomes = await Promise.allSettled([1, 2, 2, 3].map((v) => commit(() => insert.run(v).changes)));
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(db.prepare("SELECT v FROM t ORDER BY v").pluck().all()).toEqual([1, 2, 3]);
    db.close();
  });

  it("settles a write only after its transaction committed", async () => {
    const db = database();
    const commit = groupCommit(db);
    const written = commit(() => db.prepare("INSERT INTO t (v) VALUES (7)").run());
    // Not yet run: the batch waits for the end of this turn.
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(0);
    await written;
    expect(db.inTransaction).toBe(false);
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(1);
    db.close();
  });

  it("rejects every write of a batch whose commit fails", async () => {
    const db = database();
    const commit = groupCommit(db);
    const writes = [
      commit(() => db.prepare("INSERT INTO t (v) VALUES (1)").run()),
      commit(() => db.prepare("INSERT INTO t (v) VALUES (2)").run()),
    ];
    db.close(); // the batch runs after this turn, on a closed database
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
  });
});
