// Due refreshes on SQLite. One writer at a time: a claim is a single UPDATE, so two refreshers
// on the same file (two processes) cannot claim the same row.
import type { SqliteDatabase } from "../database/sqlite.js";
import { anyOrganization } from "../database/claim-fairness.js";
import type { DueRefresh, RefreshStore } from "./refresh-store.js";

export function sqliteRefreshStore(db: SqliteDatabase): RefreshStore {
  // Each organization's due refreshes numbered from its earliest; the claim takes the first of
  // every organization, then the second..., so that one with many due rows waits its turn.
  const claim = db.prepare(
    `UPDATE instances SET refresh_claimed_by = @owner, refresh_claimed_until = @until
     WHERE id IN (SELECT id FROM (SELECT id, refresh_due_at,
                                         row_number() OVER (PARTITION BY organization_id ORDER BY refresh_due_at, id) AS turn
                                  FROM instances
                                  WHERE refresh_due_at <= @now AND (refresh_claimed_until IS NULL OR refresh_claimed_until < @now)
                                    AND organization_id NOT IN (SELECT value FROM json_each(@skip)))
                  WHERE turn <= @perOrganization
                  ORDER BY turn, refresh_due_at LIMIT @limit)
     RETURNING organization_id AS organizationId, id`,
  );
  const release = db.prepare(
    "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE id = ? AND refresh_claimed_by = ?",
  );
  const releaseAll = db.prepare(
    "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE refresh_claimed_by = ?",
  );
  const claimOne = db.prepare(
    `UPDATE instances SET refresh_claimed_by = @owner, refresh_claimed_until = @until
     WHERE organization_id = @organizationId AND id = @id AND (refresh_claimed_until IS NULL OR refresh_claimed_until < @now)
     RETURNING id`,
  );
  const heldUntil = db.prepare("SELECT refresh_claimed_until AS until FROM instances WHERE organization_id = ? AND id = ?");
  const hold = db.prepare("UPDATE instances SET refresh_claimed_until = ? WHERE id = ? AND refresh_claimed_by = ?");
  // Async, so that SQLite's errors (a damaged or vanished file) reject rather than throw.
  return {
    claimDue: async (owner, now, leaseMs, limit, fairness = anyOrganization) => {
      await Promise.resolve();
      const { perOrganization, skip } = fairness;
      return claim.all({ owner, until: now + leaseMs, now, limit, perOrganization, skip: JSON.stringify(skip) }) as DueRefresh[];
    },
    release: async (owner, id) => {
      await Promise.resolve();
      release.run(id, owner);
    },
    releaseAll: async (owner) => {
      await Promise.resolve();
      return releaseAll.run(owner).changes;
    },
    claimOne: async (owner, organizationId, id, now, leaseMs) => {
      await Promise.resolve();
      if (claimOne.get({ owner, organizationId, id, now, until: now + leaseMs })) return { claimed: true };
      const row = heldUntil.get(organizationId, id) as { until: number | null } | undefined;
      return row ? { claimed: false, heldUntil: row.until ?? now } : { claimed: false, gone: true };
    },
    holdUntil: async (owner, id, until) => {
      await Promise.resolve();
      if (until === null) release.run(id, owner);
      else hold.run(until, id, owner);
    },
  };
}
