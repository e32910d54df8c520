// Due refreshes on SQLite. One writer at a time: a claim is a single UPDATE, so two refreshers
// on the same file (two processes) cannot claim the same row. Every write goes through the group
// commit the instance store uses: a claim or a release shares its transaction, and its sync to
// disk, with the other writes of the same turn of the event loop (the refreshes that just ended).
import { anyOrganization } from "../database/claim-fairness.js";
import { groupCommit, type GroupCommit } from "../database/group-commit.js";
import type { SqliteDatabase } from "../database/sqlite.js";
import type { DueRefresh, OneClaim, RefreshStore } from "./refresh-store.js";

/**
 * The claim. `refreshing` lists the organizations that have refreshes at all, one step of the
 * index on (organization_id, refresh_due_at) each (a loose scan); of each, its earliest due
 * refreshes that nobody holds, at most `share`, read from that index in the claim's order and
 * stopping there. INDEXED BY: every read stays on that index whatever the statistics say (another
 * index on organization_id would walk an organization's every instance). Numbered within the organization,
 * they are taken the first of every organization, then the second..., up to the limit and to
 * each organization's share less what the claimer has of it under way: one organization with many
 * due rows waits its turn. So a claim reads a few rows per organization,
 * never every due row (the whole table, after an outage).
 */
export const claimDueSql = `
  UPDATE instances SET refresh_claimed_by = @owner, refresh_claimed_until = @until
  WHERE id IN (
    WITH RECURSIVE refreshing (organization_id) AS (
      SELECT min(organization_id) FROM instances INDEXED BY instances_refresh_due_by_organization WHERE refresh_due_at IS NOT NULL
      UNION ALL
      SELECT (SELECT min(organization_id) FROM instances INDEXED BY instances_refresh_due_by_organization
              WHERE refresh_due_at IS NOT NULL AND organization_id > refreshing.organization_id)
      FROM refreshing WHERE organization_id IS NOT NULL),
    heads AS (
      SELECT due.id, due.organization_id, due.refresh_due_at,
             row_number() OVER (PARTITION BY due.organization_id ORDER BY due.refresh_due_at, due.id) AS turn
      FROM refreshing JOIN instances AS due ON due.id IN (
        SELECT id FROM instances INDEXED BY instances_refresh_due_by_organization
        WHERE organization_id = refreshing.organization_id AND refresh_due_at <= @now
          AND (refresh_claimed_until IS NULL OR refresh_claimed_until < @now)
        ORDER BY refresh_due_at, id LIMIT @share)
      WHERE refreshing.organization_id NOT IN (SELECT value FROM json_each(@skip)))
    SELECT id FROM heads
    WHERE turn <= @perOrganization - coalesce((SELECT value ->> 1 FROM json_each(@underWay) WHERE value ->> 0 = heads.organization_id), 0)
    ORDER BY turn, refresh_due_at, id LIMIT @limit)
  RETURNING organization_id AS organizationId, id`;

/** Every claim of one owner, found through the index on refresh_claimed_by. */
export const releaseAllSql = "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE refresh_claimed_by = ?";

export function sqliteRefreshStore(db: SqliteDatabase, commit: GroupCommit = groupCommit(db)): RefreshStore {
  const claim = db.prepare(claimDueSql);
  const release = db.prepare(
    "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE id = ? AND refresh_claimed_by = ?",
  );
  const releaseAll = db.prepare(releaseAllSql);
  const claimOne = db.prepare(
    `UPDATE instances SET refresh_claimed_by = @owner, refresh_claimed_until = @until
     WHERE organization_id = @organizationId AND id = @id AND (refresh_claimed_until IS NULL OR refresh_claimed_until < @now)
     RETURNING id`,
  );
  const heldUntil = db.prepare("SELECT refresh_claimed_until AS until FROM instances WHERE organization_id = ? AND id = ?");
  const hold = db.prepare("UPDATE instances SET refresh_claimed_until = ? WHERE id = ? AND refresh_claimed_by = ?");
  // Through the group commit, SQLite's errors (a damaged or vanished file) reject rather than throw.
  return {
    claimDue: (owner, now, leaseMs, limit, { perOrganization, skip, underWay = [] } = anyOrganization) => {
      const values = {
        owner,
        until: now + leaseMs,
        now,
        limit,
        perOrganization,
        share: Math.min(perOrganization, limit),
        skip: JSON.stringify(skip),
        underWay: JSON.stringify(underWay),
      };
      return commit(() => claim.all(values) as DueRefresh[]);
    },
    release: (owner, id) => commit(() => void release.run(id, owner)),
    releaseAll: (owner) => commit(() => releaseAll.run(owner).changes),
    claimOne: (owner, organizationId, id, now, leaseMs) =>
      commit((): OneClaim => {
        if (claimOne.get({ owner, organizationId, id, now, until: now + leaseMs })) return { claimed: true };
        const row = heldUntil.get(organizationId, id) as { until: number | null } | undefined;
        return row ? { claimed: false, heldUntil: row.until ?? now } : { claimed: false, gone: true };
      }),
    holdUntil: (owner, id, until) =>
      commit(() => {
        if (until === null) release.run(id, owner);
        else hold.run(until, id, owner);
      }),
  };
}
