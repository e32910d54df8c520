// Polls on SQLite. A claim is a single UPDATE, as the refreshes' are; a page's checkpoint and its
// events are written in one transaction of the group commit (on disk before anything is sent).
import { anyOrganization } from "../database/claim-fairness.js";
import { groupCommit, type GroupCommit } from "../database/group-commit.js";
import type { SqliteDatabase } from "../database/sqlite.js";
import type { SqliteEventWriter } from "../events/outbox.js";
import type { DuePoll, PollStore, UnscheduledInstance } from "./poll-store.js";

/** `events`: the instances' writer of events, so that a page's events count against the same pending cap. */
export function sqlitePollStore(db: SqliteDatabase, events: SqliteEventWriter, commit: GroupCommit = groupCommit(db)): PollStore {
  const unscheduled = db.prepare(
    `SELECT i.organization_id AS organizationId, i.id, i.version, i.connector_key AS connectorKey, i.configuration,
            i.created_at AS createdAt, i.updated_at AS updatedAt, p.instance_id IS NOT NULL AS known
     FROM instances i LEFT JOIN instance_polls p ON p.instance_id = i.id
     WHERE p.instance_id IS NULL OR p.instance_version <> i.version
     ORDER BY i.id LIMIT ?`,
  );
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
  const claim = db.prepare(
    `UPDATE instance_polls SET claimed_by = @owner, claimed_until = @until
     WHERE instance_id IN (SELECT instance_id FROM (SELECT instance_id, due_at,
                                  row_number() OVER (PARTITION BY organization_id ORDER BY due_at, instance_id) AS turn
                           FROM instance_polls
                           WHERE due_at <= @now AND (claimed_until IS NULL OR claimed_until < @now)
                             AND organization_id NOT IN (SELECT value FROM json_each(@skip)))
                   WHERE turn <= @perOrganization
                   ORDER BY turn, due_at LIMIT @limit)
     RETURNING organization_id AS organizationId, instance_id AS id, instance_version AS version, checkpoints, started_at AS startedAt, failures`,
  );
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
  // its own, that was a third of the writer's time under a load of creates). Reads and the claim
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
      commit(() => void schedule.run({ organizationId, id, version, polled: polled ? 1 : 0, startAt, now })),
    claimDue: async (owner, now, leaseMs, limit, { perOrganization, skip } = anyOrganization) => {
      await Promise.resolve();
      return claim.all({ owner, until: now + leaseMs, now, limit, perOrganization, skip: JSON.stringify(skip) }) as DuePoll[];
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
