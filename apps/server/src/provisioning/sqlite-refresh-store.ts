// Due refreshes on SQLite. One writer at a time: a claim is a single UPDATE, so two refreshers
// on the same file (two processes) cannot claim the same row.
import type { SqliteDatabase } from "../database/sqlite.js";
import type { DueRefresh, RefreshStore } from "./refresh-store.js";

export function sqliteRefreshStore(db: SqliteDatabase): RefreshStore {
  const claim = db.prepare(
    `UPDATE instances SET refresh_claimed_by = @owner, refresh_claimed_until = @until
     WHERE id IN (SELECT id FROM instances
                  WHERE refresh_due_at <= @now AND (refresh_claimed_until IS NULL OR refresh_claimed_until < @now)
                  ORDER BY refresh_due_at LIMIT @limit)
     RETURNING organization_id AS organizationId, id`,
  );
  const release = db.prepare(
    "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE id = ? AND refresh_claimed_by = ?",
  );
  const releaseAll = db.prepare(
    "UPDATE instances SET refresh_claimed_by = NULL, refresh_claimed_until = NULL WHERE refresh_claimed_by = ?",
  );
  // Async, so that SQLite's errors (a damaged or vanished file) reject rather than throw.
  return {
    claimDue: async (owner, now, leaseMs, limit) => {
      await Promise.resolve();
      return claim.all({ owner, until: now + leaseMs, now, limit }) as DueRefresh[];
    },
    release: async (owner, id) => {
      await Promise.resolve();
      release.run(id, owner);
    },
    releaseAll: async (owner) => {
      await Promise.resolve();
      return releaseAll.run(owner).changes;
    },
  };
}
