// The key check on PostgreSQL: the key_check row every replica shares, and a sample of the values
// sealed before it existed. Replicas starting together on an empty database race to insert the
// row; ON CONFLICT DO NOTHING lets exactly one win, and each then reads the winner's row back.
import type pg from "pg";
import { guarded } from "../database/postgres.js";
import { sealingContexts } from "./contexts.js";
import type { KeyCheckStore, SealedSample } from "./key-check.js";

export function postgresKeyCheckStore(pool: pg.Pool): KeyCheckStore {
  const read = async () => (await pool.query<{ sealed: string }>("SELECT sealed FROM key_check WHERE id = 1")).rows[0]?.sealed;
  return {
    read: () => guarded(read),
    claim: (sealed) =>
      guarded(async () => {
        await pool.query("INSERT INTO key_check (id, sealed, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING", [
          sealed,
          new Date().toISOString(),
        ]);
        return (await read())!;
      }),
    samples: () =>
      guarded(async () => {
        const samples: SealedSample[] = [];
        const instance = await pool.query<{ organization_id: number; secrets: string }>(
          "SELECT organization_id, secrets FROM instances ORDER BY id LIMIT 1",
        );
        for (const row of instance.rows)
          samples.push({ sealed: row.secrets, context: sealingContexts.instanceSecrets(row.organization_id) });
        const kept = await pool.query<{ organization_id: number; key: string; response: string }>(
          "SELECT organization_id, key, response FROM idempotency_keys WHERE response <> '' LIMIT 1",
        );
        for (const row of kept.rows)
          samples.push({ sealed: row.response, context: sealingContexts.idempotentResponse(row.organization_id, row.key) });
        return samples;
      }),
  };
}
