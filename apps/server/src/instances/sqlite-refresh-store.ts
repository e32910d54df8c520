// Due refreshes on SQLite. One writer at a time: a claim is a single UPDATE, so two refreshers
// on the same file (two processes) cannot claim the same row. Every write goes through the group
// commit the instance store uses: a claim or a release shares its transaction, and its sync to
// disk, with the other writes of the same turn of the event loop (the refreshes that just ended).
import { groupCommit, type GroupCommit } from "../database/group-commit.js";
import { sqliteFairClaimSql, sqliteFairClaimValues } from "../database/sqlite-fair-claim.js";
import type { SqliteDatabase } from "../database/sqlite.js";
import type { DueRefresh, OneClaim, RefreshStore } from "./refresh-store.js";

/** The claim, shared round-robin across organizations (database/sqlite-fair-claim.ts). */
export const claimDueSql = sqliteFairClaimSql({
  table: "instances",
  id: "id",
  dueAt: "refresh_due_at",
  claimedBy: "refresh_claimed_by",
  claimedUntil: "refresh_claimed_until",
  index: "instances_refresh_due_by_organization",
  returning: "organization_id AS organizationId, id",
});

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
    claimDue: (owner, now, leaseMs, limit, fairness) => {
      const values = sqliteFairClaimValues(owner, now, leaseMs, limit, fairness);
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
