// Due refreshes on PostgreSQL, shared by every replica: a claim locks the due rows it takes with
// FOR UPDATE SKIP LOCKED, so replicas claiming at the same moment take different rows rather
// than wait for each other, and a row claimed (its lease running) is not due for anyone else.
import type pg from "pg";
import { guarded } from "../database/postgres.js";
import { anyOrganization } from "../database/claim-fairness.js";
import type { DueRefresh, OneClaim, RefreshStore } from "./refresh-store.js";

/**
 * The claim. `refreshing` lists the organizations that have refreshes at all, one step of the
 * index on (organization_id, refresh_due_at, id) each (a loose scan, which PostgreSQL does not do
 * by itself; ordered by both columns, so that no other index serves the step, walking the
 * instances of an organization with nothing to refresh); of each, its earliest due refreshes that nobody holds, at most $6, read from that
 * index in the claim's order, stopping there, and locked (FOR UPDATE SKIP LOCKED: a window
 * function cannot be); then the first of every organization, the second..., up to the limit and
 * to each organization's share less what the claimer has of it under way. So a claim reads a few
 * rows per organization, never every due row (the whole table, after an outage: 13 to 38 ms with
 * 26,000 due).
 */
export const claimDueSql = `
  WITH RECURSIVE refreshing AS (
    (SELECT organization_id FROM instances WHERE refresh_due_at IS NOT NULL ORDER BY organization_id, refresh_due_at LIMIT 1)
    UNION ALL
    SELECT (SELECT organization_id FROM instances
            WHERE refresh_due_at IS NOT NULL AND organization_id > refreshing.organization_id
            ORDER BY organization_id, refresh_due_at LIMIT 1)
    FROM refreshing WHERE refreshing.organization_id IS NOT NULL),
  due AS (
    SELECT d.id, d.organization_id, d.refresh_due_at FROM refreshing,
      LATERAL (SELECT id, organization_id, refresh_due_at FROM instances
               WHERE organization_id = refreshing.organization_id AND refresh_due_at <= $3
                 AND (refresh_claimed_until IS NULL OR refresh_claimed_until < $3)
               ORDER BY refresh_due_at, id LIMIT $6
               FOR UPDATE SKIP LOCKED) d
    WHERE refreshing.organization_id IS NOT NULL AND NOT (refreshing.organization_id = ANY ($5::bigint[]))),
  picked AS (
    SELECT id FROM (SELECT id, organization_id, refresh_due_at,
                           row_number() OVER (PARTITION BY organization_id ORDER BY refresh_due_at, id) AS turn
                    FROM due) numbered
    WHERE turn <= $7::bigint - coalesce((SELECT busy.count FROM unnest($8::bigint[], $9::int[]) AS busy (organization_id, count)
                                 WHERE busy.organization_id = numbered.organization_id), 0)
    ORDER BY turn, refresh_due_at, id LIMIT $4)
  UPDATE instances SET refresh_claimed_by = $1, refresh_claimed_until = $2
  WHERE id IN (SELECT id FROM picked)
  RETURNING organization_id AS "organizationId", id`;

/** Every claim of one owner, found through the index on refresh_claimed_by. */
export const releaseAllSql = "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE refresh_claimed_by = $1";

export function postgresRefreshStore(pool: pg.Pool): RefreshStore {
  return {
    claimDue: (owner, now, leaseMs, limit, { perOrganization, skip, underWay = [] } = anyOrganization) =>
      guarded(async () => {
        const { rows } = await pool.query<DueRefresh>(claimDueSql, [
          owner,
          now + leaseMs,
          now,
          limit,
          skip,
          Math.min(perOrganization, limit),
          perOrganization,
          underWay.map(([organizationId]) => organizationId),
          underWay.map(([, count]) => count),
        ]);
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
