// The event outbox on SQLite. The writer runs inside the instance store's transaction (the group
// commit's work, so an acknowledged write has its event on disk with it). The dispatcher's claims
// and attempts go through a group commit too: those that arrive together share a transaction and
// its sync to disk (one per attempt, before, bound the drain to 255-343 deliveries/s on a loaded
// machine), each in its own savepoint, and each answers only once that transaction has committed.
import { anyOrganization } from "../database/claim-fairness.js";
import { groupCommit, type GroupCommit } from "../database/group-commit.js";
import type { SqliteDatabase } from "../database/sqlite.js";
import {
  deliveryColumns,
  eventRecording,
  type AttemptOutcome,
  type Delivery,
  type DeliveryStatus,
  type EventDraft,
  type EventStore,
  type EventSubject,
  type NewDelivery,
  type SqliteEventWriter,
  type StoredSecrets,
} from "./outbox.js";
import { testEventWait, type TestEventsSoFar } from "./test-events.js";

// The head of each instance (its oldest pending delivery) that is due and not leased: events go
// out in order per instance, and one instance's stuck delivery holds back none of another's. Read
// through event_deliveries_due_heads, so only due heads are read, never the deliveries queued
// behind them. Shared round-robin across organizations: the first head of every organization,
// then the second...
const dueHeads = `
  SELECT id FROM (
    SELECT d.id, d.next_attempt_at,
           row_number() OVER (PARTITION BY d.organization_id ORDER BY d.next_attempt_at, d.id) AS turn
    FROM event_deliveries d
    WHERE d.status = 'pending' AND d.head = 1 AND d.next_attempt_at <= :now AND (d.lease_until IS NULL OR d.lease_until <= :now)
      AND d.organization_id NOT IN (SELECT value FROM json_each(:skip)))
  WHERE turn <= :perOrganization
  ORDER BY turn, next_attempt_at, id LIMIT :limit`;

// The instance's oldest pending delivery becomes its head, unless it is already: after its head
// was settled or dropped, and after an insert (into an instance with none pending).
const promoteHead = `
  UPDATE event_deliveries SET head = 1
  WHERE id = (SELECT min(id) FROM event_deliveries WHERE instance_id = ? AND status = 'pending') AND head = 0`;

// A delivery dropped while its attempt was in flight stays dropped, with its reason, unless that
// attempt delivered it.
const recordAttemptSql = `
  UPDATE event_deliveries SET
    attempts = attempts + 1, last_attempt_at = :attemptAt, last_status = :status,
    last_error = CASE WHEN :delivered OR status = 'pending' THEN :error ELSE last_error END,
    status = CASE WHEN :delivered THEN 'delivered' WHEN status <> 'pending' THEN status WHEN :next IS NULL THEN 'failed' ELSE 'pending' END,
    next_attempt_at = CASE WHEN status = 'pending' THEN :next ELSE NULL END,
    lease_owner = NULL, lease_until = NULL
  WHERE id = :id AND lease_owner = :owner
  RETURNING instance_id AS instanceId, status`;

// An instance's events of one type, as the test events' limit reads them (test-events.ts).
const eventsSoFar = `
  SELECT count(*) FILTER (WHERE status = 'pending') AS pending, max(created_at) AS newestAt,
         min(next_attempt_at) FILTER (WHERE status = 'pending') AS nextAttemptAt
  FROM event_deliveries WHERE instance_id = ? AND event_type = ?`;

/** The writer; an insert keeps at most `maxPendingPerInstance` of an instance's deliveries pending. */
export function sqliteEventWriter(db: SqliteDatabase, maxPendingPerInstance: number): SqliteEventWriter {
  const saveSecrets = db.prepare(
    `INSERT INTO event_signing_secrets (instance_id, organization_id, sealed, retired, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (instance_id) DO UPDATE SET sealed = excluded.sealed, retired = excluded.retired, created_at = excluded.created_at`,
  );
  const readSecrets = db.prepare("SELECT sealed, retired FROM event_signing_secrets WHERE instance_id = ?");
  const forgetSecrets = db.prepare("DELETE FROM event_signing_secrets WHERE instance_id = ?");
  const resignPending = db.prepare(
    "UPDATE event_deliveries SET secret = ?, retired_secrets = ? WHERE instance_id = ? AND status = 'pending'",
  );
  const dropPending = db.prepare(
    "UPDATE event_deliveries SET status = 'dropped', next_attempt_at = NULL, last_error = ? WHERE instance_id = ? AND status = 'pending'",
  );
  const redirectPending = db.prepare("UPDATE event_deliveries SET url = ? WHERE instance_id = ? AND status = 'pending' AND url <> ?");
  const dropOverflow = db.prepare(
    `UPDATE event_deliveries SET status = 'dropped', next_attempt_at = NULL, last_error = :reason
     WHERE instance_id = :instanceId AND status = 'pending' AND (lease_until IS NULL OR lease_until <= :now)
       AND id <= (SELECT id FROM event_deliveries WHERE instance_id = :instanceId AND status = 'pending' ORDER BY id DESC LIMIT 1 OFFSET :keep)`,
  );
  const promote = db.prepare(promoteHead);
  const insert = db.prepare(
    `INSERT INTO event_deliveries (organization_id, instance_id, webhook_id, event_type, payload, secret, retired_secrets, url, status, next_attempt_at, created_at)
     VALUES (@organizationId, @instanceId, @webhookId, @eventType, @payload, @sealedSecret, @retiredSecrets, @url, 'pending', @createdAt, @createdAt)`,
  );
  const soFar = db.prepare(eventsSoFar);
  const readDelivery = db.prepare(`SELECT ${deliveryColumns} FROM event_deliveries WHERE webhook_id = ?`);
  /** Runs the draft's writes; the delivery it inserted, if any. */
  const write = (draft: EventDraft, record: EventSubject, now: Date): NewDelivery | undefined => {
    const recording = eventRecording(draft, record, now, maxPendingPerInstance);
    const stored = recording.needsStoredSecrets ? (readSecrets.get(record.id) as StoredSecrets | undefined) : undefined;
    const writes = recording.writes(stored);
    if (writes.saveSecrets)
      saveSecrets.run(record.id, record.organizationId, writes.saveSecrets.sealed, writes.saveSecrets.retired, now.toISOString());
    if (writes.resignPending) resignPending.run(writes.resignPending.sealed, writes.resignPending.retired, record.id);
    if (writes.dropPending !== undefined) dropPending.run(writes.dropPending, record.id);
    if (writes.redirectPending !== undefined) redirectPending.run(writes.redirectPending, record.id, writes.redirectPending);
    if (writes.dropOverflow) dropOverflow.run({ ...writes.dropOverflow, instanceId: record.id, now: now.getTime() });
    if (writes.insert) {
      insert.run(writes.insert);
      promote.run(record.id);
    }
    if (writes.forgetSecrets) forgetSecrets.run(record.id);
    return writes.insert;
  };
  return {
    record: (draft, record) => write(draft, record, new Date()) !== undefined,
    recordTest(draft, record, limit) {
      const now = new Date();
      const wait = testEventWait(soFar.get(record.id, draft.type) as TestEventsSoFar, limit, now.getTime());
      if (wait) return { wait };
      const inserted = write(draft, record, now);
      return { enqueued: inserted && (readDelivery.get(inserted.webhookId) as Delivery) };
    },
  };
}

/** The store; its claims and attempts are committed by `commit` (the connection's own group commit unless given). */
export function sqliteEventStore(db: SqliteDatabase, commit: GroupCommit = groupCommit(db)): EventStore {
  const claim = db.prepare(
    `UPDATE event_deliveries SET lease_owner = :owner, lease_until = :leaseUntil WHERE id IN (${dueHeads}) RETURNING ${deliveryColumns}`,
  );
  const recordAttempt = db.prepare(recordAttemptSql);
  const promote = db.prepare(promoteHead);
  // The attempt and, once its delivery is settled, the next head, together (a savepoint of the group commit's transaction).
  const settle = db.transaction((params: Record<string, unknown>) => {
    const settled = recordAttempt.get(params) as { instanceId: number; status: DeliveryStatus } | undefined;
    if (settled && settled.status !== "pending") promote.run(settled.instanceId);
  });
  const list = db.prepare(
    `SELECT ${deliveryColumns} FROM event_deliveries WHERE organization_id = ? AND instance_id = ? ORDER BY id DESC LIMIT ?`,
  );
  const dropped = db.prepare(
    `SELECT ${deliveryColumns} FROM event_deliveries WHERE instance_id = ? AND status = 'dropped' AND id < ? AND organization_id = ? ORDER BY id DESC LIMIT 1`,
  );
  const prune = db.prepare("DELETE FROM event_deliveries WHERE status <> 'pending' AND created_at < ?");
  return {
    claimDue: (owner, now, leaseUntil, limit, { perOrganization, skip } = anyOrganization) => {
      const claimed = () => claim.all({ owner, now, leaseUntil, limit, perOrganization, skip: JSON.stringify(skip) }) as Delivery[];
      return commit(claimed).then((rows) => rows.sort((a, b) => a.id - b.id));
    },
    recordAttempt: (id, owner, outcome: AttemptOutcome) =>
      commit(() =>
        settle({
          id,
          owner,
          attemptAt: outcome.attemptAt,
          status: outcome.status ?? null,
          error: outcome.error ?? null,
          delivered: outcome.delivered ? 1 : 0,
          next: outcome.nextAttemptAt ?? null,
        }),
      ),
    listForInstance: (organizationId, instanceId, limit) => Promise.resolve(list.all(organizationId, instanceId, limit) as Delivery[]),
    newestDropped: (organizationId, instanceId, beforeId) =>
      Promise.resolve(dropped.get(instanceId, beforeId, organizationId) as Delivery | undefined),
    pruneSettled: (createdBefore) => Promise.resolve(prune.run(createdBefore).changes),
  };
}
