// The event outbox on PostgreSQL, shared by every replica. The writer runs on the instance
// store's client, inside its transaction. A claim leases each row it takes with `FOR UPDATE SKIP
// LOCKED`: two replicas claiming at once take different rows, and a row leased by one is not due
// for the other until its lease runs out (a replica that died mid-attempt).
import type pg from "pg";
import { anyOrganization } from "../database/claim-fairness.js";
import { guarded, inTransaction } from "../database/postgres.js";
import {
  deliveryColumns,
  type AttemptOutcome,
  eventRecording,
  type Delivery,
  type EventDraft,
  type EventStore,
  type EventSubject,
  type NewDelivery,
  type StoredSecrets,
  type TestEventRecorded,
} from "./outbox.js";
import { recordedTogether } from "./recorded-together.js";
import { testEventWait, type TestEventLimit, type TestEventsSoFar } from "./test-events.js";

/** Records a draft on the instance store's client, inside its transaction; true when it enqueued a delivery. */
export interface PostgresEventWriter {
  record(client: pg.PoolClient, draft: EventDraft, subject: EventSubject): Promise<boolean>;
  /** Records a test event as `record` does, unless `limit` holds it back (test-events.ts). */
  recordTest(client: pg.PoolClient, draft: EventDraft, subject: EventSubject, limit: TestEventLimit): Promise<TestEventRecorded>;
}

// The instance's oldest pending delivery becomes its head, unless it is already (as SQLite's).
const promoteHead = `
  UPDATE event_deliveries SET head = true
  WHERE id = (SELECT min(id) FROM event_deliveries WHERE instance_id = $1 AND status = 'pending') AND NOT head`;

/** The writer; an insert keeps at most `maxPendingPerInstance` of an instance's deliveries pending. */
export const postgresEventWriter = (maxPendingPerInstance: number): PostgresEventWriter => ({
  record: async (client, draft, record) => (await write(client, draft, record, new Date(), maxPendingPerInstance)) !== undefined,
  async recordTest(client, draft, record, limit) {
    const now = new Date();
    const { rows } = await client.query<TestEventsSoFar>(
      `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, max(created_at) AS "newestAt",
              min(next_attempt_at) FILTER (WHERE status = 'pending') AS "nextAttemptAt"
       FROM event_deliveries WHERE instance_id = $1 AND event_type = $2`,
      [record.id, draft.type],
    );
    const wait = testEventWait(rows[0]!, limit, now.getTime());
    if (wait) return { wait };
    const inserted = await write(client, draft, record, now, maxPendingPerInstance);
    if (inserted === undefined) return { enqueued: undefined };
    const read = await client.query<Delivery>(`SELECT ${deliveryColumns} FROM event_deliveries WHERE webhook_id = $1`, [
      inserted.webhookId,
    ]);
    return { enqueued: read.rows[0] };
  },
});

/** Runs the draft's writes on the client; the delivery it inserted, if any. */
async function write(
  client: pg.PoolClient,
  draft: EventDraft,
  record: EventSubject,
  now: Date,
  maxPendingPerInstance: number,
): Promise<NewDelivery | undefined> {
  const recording = eventRecording(draft, record, now, maxPendingPerInstance);
  const stored = recording.needsStoredSecrets
    ? (await client.query<StoredSecrets>("SELECT sealed, retired FROM event_signing_secrets WHERE instance_id = $1", [record.id])).rows[0]
    : undefined;
  const writes = recording.writes(stored);
  // An insert first locks the instance's head, if it has one: a replica settling that head at
  // once then waits for this commit, and its next statement finds the delivery inserted here to
  // promote; or this waits for that replica's commit, and finds the head it promoted, or none
  // (the delivery inserted here is the head then). Without the lock, each could miss the other's
  // write and leave the instance's pending deliveries with no head, never sent. So does any write
  // of the pending deliveries: the head first, as a replica settling it locks it before the next
  // one it promotes. An update of them all locks them in the order it reads them (the table's, on
  // a sequential scan), the head's new version after the others: it held the next one while it
  // waited for the head, the replica the head while it waited for the next one, and the deadlock
  // failed the tenant's write (notifications turned off, the instance deleted) after holding back
  // every attempt recorded in that batch for a second (test/events/attempts-attacks.test.ts).
  if (
    writes.insert ||
    writes.dropPending !== undefined ||
    writes.redirectPending !== undefined ||
    writes.resignPending ||
    writes.dropOverflow
  )
    await client.query("SELECT id FROM event_deliveries WHERE instance_id = $1 AND status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE", [
      record.id,
    ]);
  if (writes.saveSecrets)
    await client.query(
      `INSERT INTO event_signing_secrets (instance_id, organization_id, sealed, retired, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (instance_id) DO UPDATE SET sealed = EXCLUDED.sealed, retired = EXCLUDED.retired, created_at = EXCLUDED.created_at`,
      [record.id, record.organizationId, writes.saveSecrets.sealed, writes.saveSecrets.retired, now.toISOString()],
    );
  if (writes.resignPending)
    await client.query("UPDATE event_deliveries SET secret = $1, retired_secrets = $2 WHERE instance_id = $3 AND status = 'pending'", [
      writes.resignPending.sealed,
      writes.resignPending.retired,
      record.id,
    ]);
  if (writes.dropPending !== undefined)
    await client.query(
      "UPDATE event_deliveries SET status = 'dropped', next_attempt_at = NULL, last_error = $1 WHERE instance_id = $2 AND status = 'pending'",
      [writes.dropPending, record.id],
    );
  if (writes.redirectPending !== undefined)
    await client.query("UPDATE event_deliveries SET url = $1 WHERE instance_id = $2 AND status = 'pending' AND url <> $1", [
      writes.redirectPending,
      record.id,
    ]);
  if (writes.dropOverflow)
    await client.query(
      `UPDATE event_deliveries SET status = 'dropped', next_attempt_at = NULL, last_error = $2
       WHERE instance_id = $1 AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $4)
         AND id <= (SELECT id FROM event_deliveries WHERE instance_id = $1 AND status = 'pending' ORDER BY id DESC LIMIT 1 OFFSET $3)`,
      [record.id, writes.dropOverflow.reason, writes.dropOverflow.keep, now.getTime()],
    );
  const delivery = writes.insert;
  if (delivery) {
    await client.query(
      `INSERT INTO event_deliveries (organization_id, instance_id, webhook_id, event_type, payload, secret, retired_secrets, url, status, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)`,
      [
        delivery.organizationId,
        delivery.instanceId,
        delivery.webhookId,
        delivery.eventType,
        delivery.payload,
        delivery.sealedSecret,
        delivery.retiredSecrets,
        delivery.url,
        delivery.createdAt,
      ],
    );
    await client.query(promoteHead, [record.id]);
  }
  if (writes.forgetSecrets) await client.query("DELETE FROM event_signing_secrets WHERE instance_id = $1", [record.id]);
  return delivery;
}

/**
 * The claim. `waiting` lists the organizations with a pending head, one step of
 * event_deliveries_heads_by_organization each (a loose scan, which PostgreSQL does not do by
 * itself; ordered by both columns, so that no other index serves the step): a few index pages per
 * organization, where a DISTINCT over the due heads read every due head and its row (1,000 due:
 * 965 pages, 4.3 ms). Of each, its earliest due heads that nobody holds, at most $6, walked in
 * order on the same index and locked (FOR UPDATE SKIP LOCKED: a window function cannot be); then
 * the first of every organization, the second..., up to the limit. Only heads are read, never the
 * deliveries queued behind them nor the delivered history.
 */
export const claimDueSql = `
  WITH RECURSIVE waiting AS (
    (SELECT organization_id FROM event_deliveries WHERE status = 'pending' AND head ORDER BY organization_id, next_attempt_at LIMIT 1)
    UNION ALL
    SELECT (SELECT organization_id FROM event_deliveries
            WHERE status = 'pending' AND head AND organization_id > waiting.organization_id
            ORDER BY organization_id, next_attempt_at LIMIT 1)
    FROM waiting WHERE waiting.organization_id IS NOT NULL),
  heads AS (
    SELECT h.id, h.organization_id, h.next_attempt_at FROM waiting,
      LATERAL (SELECT d.id, d.organization_id, d.next_attempt_at FROM event_deliveries d
               WHERE d.organization_id = waiting.organization_id AND d.status = 'pending' AND d.head
                 AND d.next_attempt_at <= $2 AND (d.lease_until IS NULL OR d.lease_until <= $2)
               ORDER BY d.next_attempt_at, d.id LIMIT $6
               FOR UPDATE SKIP LOCKED) h
    WHERE waiting.organization_id IS NOT NULL AND NOT (waiting.organization_id = ANY ($5::bigint[]))),
  picked AS (
    SELECT id FROM (SELECT id, next_attempt_at, row_number() OVER (PARTITION BY organization_id ORDER BY next_attempt_at, id) AS turn
                    FROM heads) numbered
    ORDER BY turn, next_attempt_at, id LIMIT $4)
  UPDATE event_deliveries SET lease_owner = $1, lease_until = $3 WHERE id IN (SELECT id FROM picked)
  RETURNING ${deliveryColumns}`;

/** An attempt to record, as the store was handed it. */
interface Recorded {
  id: number;
  owner: string;
  outcome: AttemptOutcome;
}

// Each attempt of the batch, if its owner still holds the lease. A delivery dropped while its
// attempt was in flight stays dropped, with its reason, unless that attempt delivered it. SET
// reads each row as it was, so status in the CASEs is the status before this attempt.
const recordAttemptsSql = `
  UPDATE event_deliveries d SET
    attempts = d.attempts + 1, last_attempt_at = o.attempt_at, last_status = o.status,
    last_error = CASE WHEN o.delivered OR d.status = 'pending' THEN o.error ELSE d.last_error END,
    status = CASE WHEN o.delivered THEN 'delivered' WHEN d.status <> 'pending' THEN d.status WHEN o.next IS NULL THEN 'failed' ELSE 'pending' END,
    next_attempt_at = CASE WHEN d.status = 'pending' THEN o.next ELSE NULL END,
    lease_owner = NULL, lease_until = NULL
  FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::boolean[], $7::bigint[])
       AS o (id, owner, attempt_at, status, error, delivered, next)
  WHERE d.id = o.id AND d.lease_owner = o.owner
  RETURNING d.instance_id AS "instanceId", d.status`;

// Of each instance, its oldest pending delivery becomes its head, unless it is already: promoteHead
// for the instances whose head the batch settled.
const promoteHeads = `
  UPDATE event_deliveries SET head = true
  WHERE id IN (SELECT (SELECT min(p.id) FROM event_deliveries p WHERE p.instance_id = settled.instance_id AND p.status = 'pending')
               FROM unnest($1::bigint[]) AS settled (instance_id)) AND NOT head`;

// At most this many attempts in one transaction: the dispatcher has fewer in flight (its
// concurrency), so this bounds only a caller recording a backlog at once.
const maxRecordedTogether = 256;
// At most this long for a batch: batches are recorded one at a time, so one stuck behind a row
// lock (a transaction that hangs on to one tenant's delivery) would hold back every tenant's
// attempts after it for as long as that lock is held. Cut, it fails as a whole, and its attempts
// are made again once their leases end (which, a lease outliving its attempt by 5 s, they about
// have by then anyway).
const recordedTogetherForAtMostMs = 5_000;

export function postgresEventStore(pool: pg.Pool): EventStore {
  // The attempts of a batch and, for the deliveries it settled, their instances' next heads: two
  // statements, so that the second sees a delivery inserted by a write the first waited for (see
  // the writer's lock); in one transaction, so that a batch is recorded whole or not at all.
  const record = recordedTogether<Recorded>(
    (batch) =>
      inTransaction(pool, async (client) => {
        await client.query(`SET LOCAL statement_timeout = ${recordedTogetherForAtMostMs}`);
        const { rows } = await client.query<{ instanceId: number; status: string }>(recordAttemptsSql, [
          batch.map(({ id }) => id),
          batch.map(({ owner }) => owner),
          batch.map(({ outcome }) => outcome.attemptAt),
          batch.map(({ outcome }) => outcome.status ?? null),
          batch.map(({ outcome }) => outcome.error ?? null),
          batch.map(({ outcome }) => outcome.delivered),
          batch.map(({ outcome }) => outcome.nextAttemptAt ?? null),
        ]);
        const settled = rows.filter((row) => row.status !== "pending").map((row) => row.instanceId);
        if (settled.length > 0) await client.query(promoteHeads, [settled]);
      }),
    ({ id }) => id,
    maxRecordedTogether,
  );
  return {
    claimDue: (owner, now, leaseUntil, limit, { perOrganization, skip } = anyOrganization) =>
      guarded(async () => {
        const { rows } = await pool.query<Delivery>(claimDueSql, [owner, now, leaseUntil, limit, skip, Math.min(perOrganization, limit)]);
        return rows.sort((a, b) => a.id - b.id);
      }),
    recordAttempt: (id, owner, outcome) => guarded(() => record({ id, owner, outcome })),
    listForInstance: (organizationId, instanceId, limit) =>
      guarded(async () => {
        const { rows } = await pool.query<Delivery>(
          `SELECT ${deliveryColumns} FROM event_deliveries WHERE organization_id = $1 AND instance_id = $2 ORDER BY id DESC LIMIT $3`,
          [organizationId, instanceId, limit],
        );
        return rows;
      }),
    newestDropped: (organizationId, instanceId, beforeId) =>
      guarded(async () => {
        const { rows } = await pool.query<Delivery>(
          `SELECT ${deliveryColumns} FROM event_deliveries
           WHERE instance_id = $2 AND status = 'dropped' AND id < $3 AND organization_id = $1 ORDER BY id DESC LIMIT 1`,
          [organizationId, instanceId, beforeId],
        );
        return rows[0];
      }),
    pruneSettled: (createdBefore) =>
      guarded(
        async () =>
          (await pool.query("DELETE FROM event_deliveries WHERE status <> 'pending' AND created_at < $1", [createdBefore])).rowCount ?? 0,
      ),
  };
}
