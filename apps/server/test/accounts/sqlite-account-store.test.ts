import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openStorage } from "../../src/storage.js";
import { accountStoreContract } from "./account-store-contract.js";

accountStoreContract("SQLite", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "accounts-sqlite-"));
  const storage = await openStorage({ kind: "sqlite", file: path.join(dir, "instances.sqlite") });
  return {
    storage,
    close: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
