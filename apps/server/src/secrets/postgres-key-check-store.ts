// The key check on PostgreSQL: the key_check row every replica shares. Replicas starting together
// on an empty database race to insert the row; ON CONFLICT DO NOTHING lets exactly one win, and
// each then reads the winner's row back.
import type pg from "pg";
import { guarded } from "../database/postgres.js";
import type { KeyCheckRow } from "./key-check.js";

export function postgresKeyCheckStore(pool: pg.Pool): KeyCheckRow {
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
  };
}
