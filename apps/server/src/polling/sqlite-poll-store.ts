// Polls on SQLite. A claim is a single UPDATE, as the refreshes' are; a page's checkpoint and its
// events are written in one transaction of the group commit (on disk before anything is sent).
import { anyOrganization } from "../database/claim-fairness.js";
import { groupCommit, type GroupCommit } from "../database/group-commit.js";
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

/**
 * The claim, as the refreshes' (instances/sqlite-refresh-store.ts): `polling` lists the
 * organizations that have polls at all, one step of the index on (organization_id, due_at,
 * instance_id) each (a loose scan); of each, its earliest due polls that nobody holds, at most
 * `share`, read from that index in the claim's order and stopping there; then the first of every
 * organization, the second..., up to the limit and the share. A claim reads a few rows per
 * organization, never every due row (the whole table after an outage, or one organization's
 * thousands of instances).
 */
export const claimDueSql = `
  UPDATE instance_polls SET claimed_by = @owner, claimed_until = @until
  WHERE instance_id IN (
    WITH RECURSIVE polling (organization_id) AS (
      SELECT min(organization_id) FROM instance_polls INDEXED BY instance_polls_due_by_organization WHERE due_at IS NOT NULL
      UNION ALL
      SELECT (SELECT min(organization_id) FROM instance_polls INDEXED BY instance_polls_due_by_organization
              WHERE due_at IS NOT NULL AND organization_id > polling.organization_id)
      FROM polling WHERE organization_id IS NOT NULL),
    heads AS (
      SELECT due.instance_id, due.organization_id, due.due_at,
             row_number() OVER (PARTITION BY due.organization_id ORDER BY due.due_at, due.instance_id) AS turn
      FROM polling JOIN instance_polls AS due ON due.instance_id IN (
        SELECT instance_id FROM instance_polls INDEXED BY instance_polls_due_by_organization
        WHERE organization_id = polling.organization_id AND due_at <= @now
          AND (claimed_until IS NULL OR claimed_until < @now)
        ORDER BY due_at, instance_id LIMIT @share)
      WHERE polling.organization_id NOT IN (SELECT value FROM json_each(@skip)))
    SELECT instance_id FROM heads WHERE turn <= @perOrganization
    ORDER BY turn, due_at, instance_id LIMIT @limit)
  RETURNING organization_id AS organizationId, instance_id AS id, instance_version AS version, checkpoints, started_at AS startedAt, failures`;

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
  // Async, so that SQLite's errors reject rather than throw.
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
    claimDue: (owner, now, leaseMs, limit, { perOrganization, skip } = anyOrganization) =>
      commit(
        () =>
          claim.all({
            owner,
            until: now + leaseMs,
            now,
            limit,
            perOrganization,
            share: Math.min(perOrganization, limit),
            skip: JSON.stringify(skip),
          }) as DuePoll[],
      ),
    commitPage: (owner, instance, checkpoints, drafts) =>
      commit(() => {
        if (advance.run(JSON.stringify(checkpoints), instance.id, owner, instance.version).changes === 0)
          return { held: false, enqueued: false };
        let enqueued = false;
        for (const draft of drafts) enqueued = events.record(draft, instance) || enqueued;
        return { held: true, enqueued };
      }),
    finish: async (owner, id, next, failures) => {
      await Promise.resolve();
      finish.run({ owner, id, next, failures });
    },
    forget: async (id) => {
      await Promise.resolve();
      forget.run(id);
    },
    releaseAll: async (owner) => {
      await Promise.resolve();
      return releaseAll.run(owner).changes;
    },
  };
}
