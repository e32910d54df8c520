// Due refreshes on PostgreSQL, shared by every replica: a claim locks the due rows it takes with
// FOR UPDATE SKIP LOCKED, so replicas claiming at the same moment take different rows rather
// than wait for each other, and a row claimed (its lease running) is not due for anyone else.
import type pg from "pg";
import { guarded } from "../database/postgres.js";
import { anyOrganization } from "../database/claim-fairness.js";
import type { DueRefresh, OneClaim, RefreshStore } from "./refresh-store.js";

export function postgresRefreshStore(pool: pg.Pool): RefreshStore {
  return {
    claimDue: (owner, now, leaseMs, limit, { perOrganization, skip } = anyOrganization) =>
      guarded(async () => {
        // Every organization with a due refresh, then its earliest few, locked (a window function
        // cannot be); then the first of every organization, the second..., up to the limit.
        const share = Math.min(perOrganization, limit);
        const { rows } = await pool.query<DueRefresh>(
          `WITH waiting AS (SELECT DISTINCT organization_id FROM instances
                            WHERE refresh_due_at <= $3 AND (refresh_claimed_until IS NULL OR refresh_claimed_until < $3)
                              AND NOT (organization_id = ANY ($5::bigint[]))),
                due AS (SELECT d.id, d.organization_id, d.refresh_due_at FROM waiting,
                          LATERAL (SELECT id, organization_id, refresh_due_at FROM instances
                                   WHERE organization_id = waiting.organization_id AND refresh_due_at <= $3
                                     AND (refresh_claimed_until IS NULL OR refresh_claimed_until < $3)
                                   ORDER BY refresh_due_at, id LIMIT $6
                                   FOR UPDATE SKIP LOCKED) d),
                picked AS (SELECT id FROM (SELECT id, refresh_due_at,
                                                  row_number() OVER (PARTITION BY organization_id ORDER BY refresh_due_at, id) AS turn
                                           FROM due) numbered
                           ORDER BY turn, refresh_due_at LIMIT $4)
           UPDATE instances SET refresh_claimed_by = $1, refresh_claimed_until = $2
           WHERE id IN (SELECT id FROM picked)
           RETURNING organization_id AS "organizationId", id`,
          [owner, now + leaseMs, now, limit, skip, share],
        );
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
        const result = await pool.query(
          "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE refresh_claimed_by = $1",
          [owner],
        );
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
