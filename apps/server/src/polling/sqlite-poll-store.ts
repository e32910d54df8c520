// Polls on SQLite. A claim is a single UPDATE, as the refreshes' are; a page's checkpoint and its
// events are written in one transaction of the group commit (on disk before anything is sent).
import { groupCommit, type GroupCommit } from "../database/group-commit.js";
import { sqliteFairClaimSql, sqliteFairClaimValues } from "../database/sqlite-fair-claim.js";
import type { SqliteDatabase } from "../database/sqlite.js";
import type { SqliteEventWriter } from "../events/outbox.js";
import type { DuePoll, PollStore, UnscheduledInstance } from "./poll-store.js";

/** `events`: the instances' writer of events, so that a page's events count against the same pending cap. */
/** Only the instances a write queued (migration 13), in the queue's key order: never the whole table. */
export const unscheduledSql = `
  SELECT i.organization_id AS organizationId, i.id, i.version, i.connector_key AS connectorKey, i.configuration,
         i.created_at AS createdAt, i.updated_at AS updatedAt, p.instance_id IS NOT NULL AS known
  FROM instance_poll_changes c JOIN instances i ON i.id = c.instance_id LEFT JOIN instance_polls p ON p.instance_id = i.id
  ORDER BY c.instance_id LIMIT ?`;

/** The claim, shared round-robin across organizations as the refreshes' (database/sqlite-fair-claim.ts). */
export const claimDueSql = sqliteFairClaimSql({
  table: "instance_polls",
  id: "instance_id",
  dueAt: "due_at",
  claimedBy: "claimed_by",
  claimedUntil: "claimed_until",
  index: "instance_polls_due_by_organization",
  returning:
    "organization_id AS organizationId, instance_id AS id, instance_version AS version, checkpoints, started_at AS startedAt, failures",
});

export function sqlitePollStore(db: SqliteDatabase, events: SqliteEventWriter, commit: GroupCommit = groupCommit(db)): PollStore {
  const unscheduled = db.prepare(unscheduledSql);
  // A newer version queued meanwhile keeps its mark.
  const scheduled = db.prepare("DELETE FROM instance_poll_changes WHERE instance_id = ? AND instance_version <= ?");
  // Turned on: due now, checkpoints anew from startAt; on still: as it was; off: not due.
  const schedule = db.prepare(
    `INSERT INTO instance_polls (instance_id, organization_id, instance_version, due_at, checkpoints, started_at)
     VALUES (@id, @organizationId, @version, CASE WHEN @polled THEN @now END, '{}', @startAt)
     ON CONFLICT (instance_id) DO UPDATE SET
       instance_version = excluded.instance_version,
       checkpoints = CASE WHEN @polled AND instance_polls.due_at IS NULL THEN '{}' ELSE instance_polls.checkpoints END,
       started_at = CASE WHEN @polled AND instance_polls.due_at IS NULL THEN @startAt ELSE instance_polls.started_at END,
       failures = CASE WHEN @polled AND instance_polls.due_at IS NULL THEN 0 ELSE instance_polls.failures END,
       due_at = CASE WHEN NOT @polled THEN NULL ELSE coalesce(instance_polls.due_at, @now) END`,
  );
  const claim = db.prepare(claimDueSql);
  // SQLite has one writer at a time: the instance cannot change between this check and the commit.
  const advance = db.prepare(
    `UPDATE instance_polls SET checkpoints = ?
     WHERE instance_id = ? AND claimed_by = ? AND due_at IS NOT NULL
       AND (SELECT version FROM instances WHERE id = instance_polls.instance_id) = ?`,
  );
  const finish = db.prepare(
    `UPDATE instance_polls SET claimed_by = NULL, claimed_until = NULL, failures = @failures,
       due_at = CASE WHEN due_at IS NULL THEN NULL ELSE @next END
     WHERE instance_id = @id AND claimed_by = @owner`,
  );
  const forget = db.prepare("DELETE FROM instance_polls WHERE instance_id = ?");
  const releaseAll = db.prepare("UPDATE instance_polls SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = ?");
  // Every write through the group commit: a poll's schedule, finish or release shares its sync to
  // disk with the other writes of the turn (one create schedules its instance's polls: on a sync of
  // its own, that was a third of the writer's time under a load of creates); the claim too. Reads
  // are async, so that SQLite's errors reject rather than throw.
  return {
    unscheduled: async (limit) => {
      await Promise.resolve();
      return (unscheduled.all(limit) as (Omit<UnscheduledInstance, "known"> & { known: number })[]).map((row) => ({
        ...row,
        known: row.known === 1,
      }));
    },
    schedule: ({ organizationId, id, version }, polled, startAt, now) =>
      commit(() => {
        schedule.run({ organizationId, id, version, polled: polled ? 1 : 0, startAt, now });
        scheduled.run(id, version);
      }),
    claimDue: (owner, now, leaseMs, limit, fairness) => {
      const values = sqliteFairClaimValues(owner, now, leaseMs, limit, fairness);
      return commit(() => claim.all(values) as DuePoll[]);
    },
    commitPage: (owner, instance, checkpoints, drafts) =>
      commit(() => {
        if (advance.run(JSON.stringify(checkpoints), instance.id, owner, instance.version).changes === 0)
          return { held: false, enqueued: false };
        let enqueued = false;
        for (const draft of drafts) enqueued = events.record(draft, instance) || enqueued;
        return { held: true, enqueued };
      }),
    finish: (owner, id, next, failures) => commit(() => void finish.run({ owner, id, next, failures })),
    forget: (id) => commit(() => void forget.run(id)),
    releaseAll: (owner) => commit(() => releaseAll.run(owner).changes),
  };
}
