import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openSqlite } from "../../src/database/sqlite.js";
import { openStorage } from "../../src/storage.js";
import { storeContract } from "./store-contract.js";

storeContract("SQLite", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "store-sqlite-"));
  const storage = await openStorage({ kind: "sqlite", file: path.join(dir, "instances.sqlite") });
  return {
    storage,
    close: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe("the SQLite schema", () => {
  it("finds an instance by its token's hash through the index on (organization_id, token_hash)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "store-sqlite-plan-"));
    const db = openSqlite(path.join(dir, "instances.sqlite"));
    try {
      const plan = db
        .prepare("EXPLAIN QUERY PLAN SELECT id, token_hash FROM instances WHERE organization_id = ? AND token_hash = ?")
        .all(1, Buffer.alloc(32)) as { detail: string }[];
      expect(plan.map((step) => step.detail)).toEqual([
        expect.stringMatching(/^SEARCH instances USING (COVERING )?INDEX instances_by_token \(organization_id=\? AND token_hash=\?\)$/),
      ]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
