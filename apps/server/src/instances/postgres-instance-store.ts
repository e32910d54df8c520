// The instance store on PostgreSQL, for several replicas on one database. Every write is one
// transaction; a write with an expected version updates only that version, so of two replicas
// writing the same version exactly one wins. An idempotency key is claimed with its row's
// primary key: a second replica creating under the same key waits for the first to commit, then
// replays what it kept. A write that sets or deletes tags writes their rows in instance_tags in
// the same transaction: a list filtered by tags reads that table's key, never the whole table.
import type pg from "pg";
import { guarded, inTransaction } from "../database/postgres.js";
import type { TestEventRecorded } from "../events/outbox.js";
import type { PostgresEventWriter } from "../events/postgres-event-store.js";
import {
  changedColumns,
  instanceColumns,
  newestInstance,
  recordFromRow,
  sampledInstance,
  sampledResponse,
  samplesOf,
  tagChanges,
  type InstanceChanges,
  type InstanceRow,
  type InstanceStore,
  type ListQuery,
  type ListPage,
  type StoredIdempotentResponse,
  type WriteOutcome,
  type Written,
} from "./store.js";

type Row = InstanceRow;
const columns = instanceColumns;
const toRecord = recordFromRow;

async function selectOne(client: pg.Pool | pg.PoolClient, organizationId: number, id: number, lock = false): Promise<Row | undefined> {
  const { rows } = await client.query<Row>(
    `SELECT ${columns} FROM instances WHERE organization_id = $1 AND id = $2${lock ? " FOR UPDATE" : ""}`,
    [organizationId, id],
  );
  return rows[0];
}

async function writeTags(client: pg.PoolClient, organizationId: number, id: number, before: string[], after: string[]): Promise<void> {
  const { added, removed } = tagChanges(before, after);
  if (removed.length) {
    await client.query("DELETE FROM instance_tags WHERE organization_id = $1 AND tag = ANY($2::text[]) AND instance_id = $3", [
      organizationId,
      removed,
      id,
    ]);
  }
  if (added.length) {
    await client.query("INSERT INTO instance_tags (organization_id, tag, instance_id) SELECT $1, unnest($2::text[]), $3", [
      organizationId,
      added,
      id,
    ]);
  }
}

/**
 * Of the tags, the one with the fewest instances after the cursor, as counted up to what one page
 * examines (as SQLite's store, which says why). One count for each tag, with its own parameter: the
 * planner plans each for that very tag (from its statistics) and walks the key to the limit where
 * the tag is common, rather than gathering all its rows in a bitmap first, as it may for a tag it
 * cannot see.
 */
async function rarestTag(pool: pg.Pool, organizationId: number, tags: string[], afterId: number, maxExamined: number): Promise<string> {
  const counts = tags.map(
    (_, index) =>
      `SELECT ${index} AS position, count(*) AS counted FROM (SELECT FROM instance_tags WHERE organization_id = $1 AND tag = $${index + 4} AND instance_id > $2 ORDER BY instance_id LIMIT $3) AS walked`,
  );
  const { rows } = await pool.query<{ position: number }>(
    `SELECT position FROM (${counts.join(" UNION ALL ")}) AS tags ORDER BY counted, position LIMIT 1`,
    [organizationId, afterId, maxExamined, ...tags],
  );
  return tags[rows[0]!.position]!;
}

// The organization's rows from the cursor on, in id order, stopping at the page's end: a walk of
// (organization_id, id), or of (organization_id, connector_key, id) for one connector. Written
// `= ANY (ARRAY[$1])` and ordered by both columns so that no other plan gives that order: with
// `= $1` the planner takes the organization for a constant, and the primary key's order for the
// same; where statistics say the organization is much of the table it then walks the primary key
// from the cursor, through every other organization's rows (a large organization's last page read
// all of a small one's 2,000 after it, to find nothing more). For one connector the cursor is a
// row comparison on the connector key's three columns, which only that key can start from: told
// that a connector is on most rows (another organization's), the planner walked (organization_id,
// id) instead and read every row of an organization that has none.
async function listAll(pool: pg.Pool, { organizationId, connectorKey, afterId, limit }: ListQuery): Promise<ListPage> {
  const { rows } =
    connectorKey === undefined
      ? await pool.query<Row>(
          `SELECT ${columns} FROM instances WHERE organization_id = ANY (ARRAY[$1::bigint]) AND id > $2 ORDER BY organization_id, id LIMIT $3`,
          [organizationId, afterId, limit],
        )
      : await pool.query<Row>(
          `SELECT ${columns} FROM instances
           WHERE organization_id = ANY (ARRAY[$1::bigint]) AND connector_key = $2 AND (organization_id, connector_key, id) > ($1::bigint, $2::text, $3::bigint)
           ORDER BY organization_id, id LIMIT $4`,
          [organizationId, connectorKey, afterId, limit],
        );
  return { records: rows.map(toRecord), resumeAfter: undefined };
}

// Every tag given (all of them): one tag's rows walk its key in id order from the cursor, each
// candidate kept when index-only probes find it under the other tags (instance_tags' key) and the
// connector; only the instances kept are read, each by its id. The walk stops at the page's end or
// after maxExamined candidates, whichever comes first: then the last candidate (last_examined,
// the bound-th row of the walked tag) comes back too, matched or not, as where the next page
// resumes. OFFSET 0 in each probe keeps it a probe: an EXISTS it can simplify, the planner may
// instead hash all of the other tag's rows (or join them as a semi-join), reading every one. OFFSET
// 0 around the probes keeps them computed once a candidate; ORDER BY there tells the planner that
// the candidates come in order (without it, it sorted them, and so probed every one even where the
// page filled after a tenth of them). OFFSET 0 around the read of an instance keeps the planner
// from folding it into a join: as a merge join it would walk the instances table itself (every
// organization's rows) from the cursor to the page's last match. Where it expects the walked tag to
// hold fewer rows after the cursor than the bound, the planner may gather them in a bitmap and sort
// them rather than walk the key: the rows it expects to read anyway.
async function listTagged(
  pool: pg.Pool,
  { organizationId, tags, connectorKey, afterId, limit, maxExamined }: ListQuery,
): Promise<ListPage> {
  const wanted = [...new Set(tags)];
  const walked = wanted.length > 1 ? await rarestTag(pool, organizationId, wanted, afterId, maxExamined) : wanted[0];
  const params: unknown[] = [organizationId, walked, afterId, limit];
  const probes = wanted
    .filter((tag) => tag !== walked)
    .map((tag) => {
      params.push(tag);
      return `EXISTS (SELECT FROM instance_tags AS other WHERE other.organization_id = $1 AND other.tag = $${params.length} AND other.instance_id = candidate.instance_id OFFSET 0)`;
    });
  if (connectorKey !== undefined) {
    params.push(connectorKey);
    probes.push(
      `EXISTS (SELECT FROM instances AS kept WHERE kept.organization_id = $1 AND kept.connector_key = $${params.length} AND kept.id = candidate.instance_id OFFSET 0)`,
    );
  }
  const walk = "FROM instance_tags WHERE organization_id = $1 AND tag = $2 AND instance_id > $3 ORDER BY instance_id";
  // Without a probe every candidate is kept: the page's end comes first.
  let candidates = `SELECT instance_id, true AS matched, false AS last_examined ${walk} LIMIT $4`;
  if (probes.length) {
    params.push(maxExamined);
    const bound = `$${params.length}::bigint`;
    candidates = `SELECT instance_id, matched, last_examined FROM (
        SELECT candidate.instance_id, ${probes.join(" AND ")} AS matched,
               candidate.instance_id = (SELECT instance_id ${walk} OFFSET ${bound} - 1 LIMIT 1) AS last_examined
        FROM (SELECT instance_id ${walk} LIMIT ${bound}) AS candidate
        ORDER BY candidate.instance_id OFFSET 0
      ) AS probed WHERE matched OR last_examined ORDER BY instance_id LIMIT $4`;
  }
  const { rows } = await pool.query<Row & { matched: boolean; last_examined: boolean | null }>(
    `SELECT instance.*, found.matched, found.last_examined FROM (${candidates}) AS found
     CROSS JOIN LATERAL (SELECT ${columns} FROM instances WHERE id = found.instance_id AND organization_id = $1 OFFSET 0) AS instance
     ORDER BY found.instance_id`,
    params,
  );
  const last = rows.at(-1);
  return {
    records: rows.filter((row) => row.matched).map(toRecord),
    resumeAfter: last?.last_examined ? Number(last.id) : undefined,
  };
}

/** The store; `events` records each write's event in the write's transaction (events/postgres-event-store.ts). */
export function postgresInstanceStore(pool: pg.Pool, events: PostgresEventWriter): InstanceStore {
  return {
    create: (instance, idempotency, followUps) =>
      guarded(() =>
        inTransaction(pool, async (client) => {
          if (idempotency) {
            // Claims the key, or takes over an expired one; a key another replica is creating
            // under makes this wait for its commit, then find it fresh and replay it.
            const claimed = await client.query(
              `INSERT INTO idempotency_keys (organization_id, key, request_hash, response, created_at) VALUES ($1, $2, $3, '', $4)
               ON CONFLICT (organization_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, response = '', created_at = EXCLUDED.created_at
               WHERE idempotency_keys.created_at < $5`,
              [instance.organizationId, idempotency.key, idempotency.requestHash, instance.createdAt, idempotency.expiredBefore],
            );
            if (claimed.rowCount === 0) {
              const { rows } = await client.query<StoredIdempotentResponse>(
                'SELECT request_hash AS "requestHash", response AS "sealedResponse" FROM idempotency_keys WHERE organization_id = $1 AND key = $2',
                [instance.organizationId, idempotency.key],
              );
              return { replay: rows[0]! };
            }
          }
          const { rows } = await client.query<Row>(
            `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, secret_keys, token_hash, created_at, updated_at, provisioning, refresh_due_at, vendor_hooks, vendor_hook_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13) RETURNING ${columns}`,
            [
              instance.organizationId,
              instance.connectorKey,
              instance.name,
              JSON.stringify(instance.tags),
              JSON.stringify(instance.configuration),
              instance.sealedSecrets,
              JSON.stringify(instance.secretKeys),
              instance.tokenHash,
              instance.createdAt,
              instance.provisioning ?? null,
              instance.refreshDueAt ?? null,
              instance.vendorHooks ?? null,
              instance.vendorHookHash ?? null,
            ],
          );
          const created = toRecord(rows[0]!);
          await writeTags(client, created.organizationId, created.id, [], created.tags);
          const after = followUps?.(created) ?? {};
          if (idempotency) {
            await client.query("UPDATE idempotency_keys SET response = $3 WHERE organization_id = $1 AND key = $2", [
              instance.organizationId,
              idempotency.key,
              after.sealedResponse ?? "",
            ]);
          }
          return { created: { record: created, enqueued: after.event ? await events.record(client, after.event, created) : false } };
        }),
      ),

    get: (organizationId, id) => guarded(async () => await selectOne(pool, organizationId, id).then((row) => row && toRecord(row))),

    findByTokenHash: (organizationId, tokenHash) =>
      guarded(async () => {
        const { rows } = await pool.query<{ id: number; tokenHash: Buffer }>(
          'SELECT id, token_hash AS "tokenHash" FROM instances WHERE organization_id = $1 AND token_hash = $2',
          [organizationId, tokenHash],
        );
        return rows[0];
      }),

    list: (query) => guarded(() => (query.tags.length ? listTagged(pool, query) : listAll(pool, query))),

    update: (organizationId, id, expectedVersion, changes: InstanceChanges, followUps) =>
      guarded(() =>
        inTransaction(pool, async (client): Promise<WriteOutcome<Written>> => {
          const current = await selectOne(client, organizationId, id, true);
          if (!current) return "not-found";
          if (expectedVersion !== undefined && current.version !== expectedVersion) return "version-mismatch";
          const params: unknown[] = [organizationId, id, new Date().toISOString()];
          const assignments = ["version = version + 1", "updated_at = $3"];
          for (const [column, value] of changedColumns(changes)) {
            params.push(value);
            assignments.push(`${column} = $${params.length}`);
          }
          if (changes.releasesRefreshClaimOf !== undefined) {
            // Both read the claim as it was before this write.
            params.push(changes.releasesRefreshClaimOf);
            const owner = `$${params.length}::text`;
            assignments.push(
              `refresh_claimed_by = CASE WHEN refresh_claimed_by = ${owner} THEN NULL ELSE refresh_claimed_by END`,
              `refresh_claimed_until = CASE WHEN refresh_claimed_by = ${owner} THEN NULL ELSE refresh_claimed_until END`,
            );
          }
          const { rows } = await client.query<Row>(
            `UPDATE instances SET ${assignments.join(", ")} WHERE organization_id = $1 AND id = $2 RETURNING ${columns}`,
            params,
          );
          const updated = toRecord(rows[0]!);
          if (changes.tags !== undefined) await writeTags(client, organizationId, id, current.tags, updated.tags);
          const event = followUps?.(updated).event;
          return { record: updated, enqueued: event ? await events.record(client, event, updated) : false };
        }),
      ),

    delete: (organizationId, id, expectedVersion, followUps) =>
      guarded(() =>
        inTransaction(pool, async (client): Promise<WriteOutcome<{ enqueued: boolean }>> => {
          const current = await selectOne(client, organizationId, id, true);
          if (!current) return "not-found";
          if (expectedVersion !== undefined && current.version !== expectedVersion) return "version-mismatch";
          await client.query("DELETE FROM instances WHERE organization_id = $1 AND id = $2", [organizationId, id]);
          const deleted = toRecord(current);
          await writeTags(client, organizationId, id, deleted.tags, []);
          const event = followUps?.(deleted).event;
          return { enqueued: event ? await events.record(client, event, deleted) : false };
        }),
      ),

    // The instance's row locked: a test event waits for a write under way (and one another replica
    // is recording), so that its limit counts every test event before it.
    findByVendorHookHash: (hookHash) =>
      guarded(async () => {
        const { rows } = await pool.query<Row>(`SELECT ${columns} FROM instances WHERE vendor_hook_hash = $1`, [hookHash]);
        return rows[0] && toRecord(rows[0]);
      }),

    recordVendorEvents: (organizationId, id, hookHash, drafts) =>
      guarded(() =>
        inTransaction(pool, async (client): Promise<{ enqueued: boolean } | "not-found"> => {
          // Locked as a write locks it: the events come wholly before a change or a delete of the instance, or wholly after.
          const { rows } = await client.query<Row>(
            `SELECT ${columns} FROM instances WHERE organization_id = $1 AND id = $2 AND vendor_hook_hash = $3 FOR UPDATE`,
            [organizationId, id, hookHash],
          );
          if (!rows[0]) return "not-found";
          const record = toRecord(rows[0]);
          let enqueued = false;
          for (const draft of drafts) enqueued = (await events.record(client, draft, record)) || enqueued;
          return { enqueued };
        }),
      ),

    recordTestEvent: (organizationId, id, expectedVersion, followUps, limit) =>
      guarded(() =>
        inTransaction(pool, async (client): Promise<WriteOutcome<TestEventRecorded>> => {
          const current = await selectOne(client, organizationId, id, true);
          if (!current) return "not-found";
          if (expectedVersion !== undefined && current.version !== expectedVersion) return "version-mismatch";
          const record = toRecord(current);
          const event = followUps(record).event;
          return event ? await events.recordTest(client, event, record, limit) : { enqueued: undefined };
        }),
      ),

    readNewest: () => guarded(async () => void (await pool.query(newestInstance))),

    sealedSamples: () =>
      guarded(async () => {
        const instance = await pool.query<NonNullable<Parameters<typeof samplesOf>[0]>>(sampledInstance);
        const kept = await pool.query<NonNullable<Parameters<typeof samplesOf>[1]>>(sampledResponse);
        return samplesOf(instance.rows[0], kept.rows[0]);
      }),

    pruneIdempotencyKeys: (createdBefore) =>
      guarded(async () => (await pool.query("DELETE FROM idempotency_keys WHERE created_at < $1", [createdBefore])).rowCount ?? 0),
  };
}
