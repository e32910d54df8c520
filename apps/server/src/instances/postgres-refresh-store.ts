// Due refreshes on PostgreSQL, shared by every replica: a claim locks the due rows it takes with
// FOR UPDATE SKIP LOCKED, so replicas claiming at the same moment take different rows rather
// than wait for each other, and a row claimed (its lease running) is not due for anyone else.
import type pg from "pg";
import { guarded } from "../database/postgres.js";
import { postgresFairClaimSql, postgresFairClaimValues } from "../database/postgres-fair-claim.js";
import type { DueRefresh, OneClaim, RefreshStore } from "./refresh-store.js";

/** The claim, shared round-robin across organizations (database/postgres-fair-claim.ts). */
export const claimDueSql = postgresFairClaimSql({
  table: "instances",
  id: "id",
  dueAt: "refresh_due_at",
  claimedBy: "refresh_claimed_by",
  claimedUntil: "refresh_claimed_until",
  returning: 'organization_id AS "organizationId", id',
});

/** Every claim of one owner, found through the index on refresh_claimed_by. */
export const releaseAllSql = "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE refresh_claimed_by = $1";

export function postgresRefreshStore(pool: pg.Pool): RefreshStore {
  return {
    claimDue: (owner, now, leaseMs, limit, fairness) =>
      guarded(async () => {
        const { rows } = await pool.query<DueRefresh>(claimDueSql, postgresFairClaimValues(owner, now, leaseMs, limit, fairness));
        return rows;
      }),
    release: (owner, id) =>
      guarded(async () => {
        await pool.query(
          "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE id = $1 AND refresh_claimed_by = $2",
          [id, owner],
        );
      }),
    releaseAll: (owner) =>
      guarded(async () => {
        const result = await pool.query(releaseAllSql, [owner]);
        return result.rowCount ?? 0;
      }),
    claimOne: (owner, organizationId, id, now, leaseMs) =>
      guarded(async (): Promise<OneClaim> => {
        // One statement: the claim when the row is free, else the end of the claim that holds it.
        const { rows } = await pool.query<{ claimed: boolean; until: string | null }>(
          `WITH claimed AS (
             UPDATE instances SET refresh_claimed_by = $1, refresh_claimed_until = $2
             WHERE organization_id = $3 AND id = $4 AND (refresh_claimed_until IS NULL OR refresh_claimed_until < $5)
             RETURNING id)
           SELECT EXISTS (SELECT 1 FROM claimed) AS claimed, refresh_claimed_until AS until
           FROM instances WHERE organization_id = $3 AND id = $4`,
          [owner, now + leaseMs, organizationId, id, now],
        );
        const row = rows[0];
        if (!row) return { claimed: false, gone: true };
        return row.claimed ? { claimed: true } : { claimed: false, heldUntil: row.until === null ? now : Number(row.until) };
      }),
    holdUntil: (owner, id, until) =>
      guarded(async () => {
        await pool.query(
          until === null
            ? "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE id = $1 AND refresh_claimed_by = $2"
            : "UPDATE instances SET refresh_claimed_until = $3 WHERE id = $1 AND refresh_claimed_by = $2",
          until === null ? [id, owner] : [id, owner, until],
        );
      }),
  };
}
