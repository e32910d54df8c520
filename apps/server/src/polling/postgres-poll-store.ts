// Polls on PostgreSQL, shared by every replica: a claim locks the due rows it takes with
// FOR UPDATE SKIP LOCKED (replicas claiming at once take different rows), and a page's checkpoint
// and its events are written in one transaction, the checkpoint only while the claim is still
// this replica's.
import type pg from "pg";
import { postgresFairClaimSql, postgresFairClaimValues } from "../database/postgres-fair-claim.js";
import { guarded, inTransaction } from "../database/postgres.js";
import type { PostgresEventWriter } from "../events/postgres-event-store.js";
import type { DuePoll, PollStore, UnscheduledInstance } from "./poll-store.js";

/** `events`: the instances' writer of events, so that a page's events count against the same pending cap. */
/** Only the instances a write queued (migration 13), in the queue's key order: never the whole table. */
export const unscheduledSql = `
  SELECT i.organization_id AS "organizationId", i.id, i.version, i.connector_key AS "connectorKey", i.configuration::text AS configuration,
         i.created_at AS "createdAt", i.updated_at AS "updatedAt", p.instance_id IS NOT NULL AS known
  FROM instance_poll_changes c JOIN instances i ON i.id = c.instance_id LEFT JOIN instance_polls p ON p.instance_id = i.id
  ORDER BY c.instance_id LIMIT $1`;

/** The claim, shared round-robin across organizations as the refreshes' (database/postgres-fair-claim.ts). */
export const claimDueSql = postgresFairClaimSql({
  table: "instance_polls",
  id: "instance_id",
  dueAt: "due_at",
  claimedBy: "claimed_by",
  claimedUntil: "claimed_until",
  returning:
    'organization_id AS "organizationId", instance_id AS id, instance_version AS version, checkpoints, started_at AS "startedAt", failures',
});

export function postgresPollStore(pool: pg.Pool, events: PostgresEventWriter): PollStore {
  return {
    unscheduled: (limit) =>
      guarded(async () => {
        const { rows } = await pool.query<UnscheduledInstance>(unscheduledSql, [limit]);
        return rows;
      }),
    schedule: ({ organizationId, id, version }, polled, startAt, now) =>
      guarded(async () => {
        // Replicas may schedule the same version at once: the one that comes second changes nothing.
        await pool.query(
          `INSERT INTO instance_polls (instance_id, organization_id, instance_version, due_at, checkpoints, started_at)
           VALUES ($1, $2, $3, CASE WHEN $4 THEN $6::bigint END, '{}', $5)
           ON CONFLICT (instance_id) DO UPDATE SET
             instance_version = EXCLUDED.instance_version,
             checkpoints = CASE WHEN $4 AND instance_polls.due_at IS NULL THEN '{}' ELSE instance_polls.checkpoints END,
             started_at = CASE WHEN $4 AND instance_polls.due_at IS NULL THEN $5 ELSE instance_polls.started_at END,
             failures = CASE WHEN $4 AND instance_polls.due_at IS NULL THEN 0 ELSE instance_polls.failures END,
             due_at = CASE WHEN NOT $4 THEN NULL ELSE coalesce(instance_polls.due_at, $6::bigint) END
           WHERE instance_polls.instance_version <> EXCLUDED.instance_version`,
          [id, organizationId, version, polled, startAt, now],
        );
        // A write of the instance under way holds the queue row (its trigger's upsert): this waits
        // for it, then sees its newer version and keeps the mark.
        await pool.query("DELETE FROM instance_poll_changes WHERE instance_id = $1 AND instance_version <= $2", [id, version]);
      }),
    claimDue: (owner, now, leaseMs, limit, fairness) =>
      guarded(async () => {
        const { rows } = await pool.query<DuePoll>(claimDueSql, postgresFairClaimValues(owner, now, leaseMs, limit, fairness));
        return rows.map((row) => ({ ...row, startedAt: Number(row.startedAt) }));
      }),
    commitPage: (owner, instance, checkpoints, drafts) =>
      guarded(() =>
        inTransaction(pool, async (client) => {
          // The instance's row locked (FOR SHARE) until the commit: a write of the instance (which
          // takes its row) comes wholly before this page's events or wholly after.
          const current = await client.query<{ version: number }>("SELECT version FROM instances WHERE id = $1 FOR SHARE", [instance.id]);
          if (current.rows[0]?.version !== instance.version) return { held: false, enqueued: false };
          const advanced = await client.query(
            "UPDATE instance_polls SET checkpoints = $1 WHERE instance_id = $2 AND claimed_by = $3 AND due_at IS NOT NULL",
            [JSON.stringify(checkpoints), instance.id, owner],
          );
          if (advanced.rowCount === 0) return { held: false, enqueued: false };
          let enqueued = false;
          for (const draft of drafts) enqueued = (await events.record(client, draft, instance)) || enqueued;
          return { held: true, enqueued };
        }),
      ),
    finish: (owner, id, next, failures) =>
      guarded(async () => {
        await pool.query(
          `UPDATE instance_polls SET claimed_by = NULL, claimed_until = NULL, failures = $4,
             due_at = CASE WHEN due_at IS NULL THEN NULL ELSE $3::bigint END
           WHERE instance_id = $1 AND claimed_by = $2`,
          [id, owner, next, failures],
        );
      }),
    forget: (id) =>
      guarded(async () => {
        await pool.query("DELETE FROM instance_polls WHERE instance_id = $1", [id]);
      }),
    releaseAll: (owner) =>
      guarded(async () => {
        const result = await pool.query("UPDATE instance_polls SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = $1", [owner]);
        return result.rowCount ?? 0;
      }),
  };
}
