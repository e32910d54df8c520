// The key check on SQLite: the key_check row, and a sample of the values sealed before it existed.
import type { SqliteDatabase } from "../database/sqlite.js";
import { sealingContexts } from "./contexts.js";
import type { KeyCheckStore, SealedSample } from "./key-check.js";

export function sqliteKeyCheckStore(db: SqliteDatabase): KeyCheckStore {
  const select = db.prepare("SELECT sealed FROM key_check WHERE id = 1").pluck();
  const insert = db.prepare("INSERT INTO key_check (id, sealed, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING");
  const instance = db.prepare("SELECT organization_id AS organizationId, secrets FROM instances ORDER BY id LIMIT 1");
  const response = db.prepare("SELECT organization_id AS organizationId, key, response FROM idempotency_keys WHERE response <> '' LIMIT 1");

  const read = () => select.get() as string | undefined;
  return {
    read: () => Promise.resolve(read()),
    claim: (sealed) => {
      insert.run(sealed, new Date().toISOString());
      return Promise.resolve(read()!);
    },
    samples: () => {
      const samples: SealedSample[] = [];
      const row = instance.get() as { organizationId: number; secrets: string } | undefined;
      if (row) samples.push({ sealed: row.secrets, context: sealingContexts.instanceSecrets(row.organizationId) });
      const kept = response.get() as { organizationId: number; key: string; response: string } | undefined;
      if (kept) samples.push({ sealed: kept.response, context: sealingContexts.idempotentResponse(kept.organizationId, kept.key) });
      return Promise.resolve(samples);
    },
  };
}
