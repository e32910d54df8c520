// The instance store on SQLite. Every write is one transaction; a write with an expected version
// updates only that version (optimistic concurrency), so two writers cannot both win. A write
// that sets or deletes tags writes their rows in instance_tags in the same transaction: a list
// filtered by tags reads that table's key, never the tags of every instance.
import type { Statement } from "better-sqlite3";
import { groupCommit, type GroupCommit } from "../database/group-commit.js";
import type { SqliteDatabase } from "../database/sqlite.js";
import type { SqliteEventWriter, TestEventRecorded } from "../events/outbox.js";
import {
  changedColumns,
  instanceColumns,
  instanceColumnsOfInstances,
  newestInstance,
  recordFromRow,
  sampledInstance,
  sampledResponse,
  samplesOf,
  tagChanges,
  type FollowUps,
  type InstanceChanges,
  type InstanceRecord,
  type InstanceStore,
  type Written,
  type ListQuery,
  type ListPage,
  type NewInstance,
  type StoredIdempotentResponse,
  type WriteOutcome,
  type InstanceRow,
} from "./store.js";

/** A row as SQLite returns it: JSON in text columns, booleans as integers. */
type Row = Omit<InstanceRow, "tags" | "configuration" | "secret_keys" | "disabled"> & {
  tags: string;
  configuration: string;
  secret_keys: string | null;
  disabled: number;
};

const columns = instanceColumns;

function toRecord(row: Row): InstanceRecord {
  return recordFromRow({
    ...row,
    tags: JSON.parse(row.tags) as string[],
    configuration: JSON.parse(row.configuration) as Record<string, string>,
    secret_keys: row.secret_keys === null ? null : (JSON.parse(row.secret_keys) as string[]),
    disabled: row.disabled === 1,
  });
}

/** The store; `events` records each write's event in the write's transaction (events/sqlite-event-store.ts). */
export function sqliteInstanceStore(db: SqliteDatabase, events: SqliteEventWriter, commit: GroupCommit = groupCommit(db)): InstanceStore {
  // Lists and updates build their SQL from the filters and fields at hand: a handful of shapes,
  // each prepared once.
  const statements = new Map<string, Statement<unknown[]>>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };

  const insert = db.prepare(
    `INSERT INTO instances (organization_id, connector_key, name, tags, configuration, secrets, secret_keys, token_hash, created_at, updated_at, provisioning, refresh_due_at, vendor_hooks, vendor_hook_hash)
     VALUES (@organizationId, @connectorKey, @name, @tags, @configuration, @sealedSecrets, @secretKeys, @tokenHash, @createdAt, @createdAt, @provisioning, @refreshDueAt, @vendorHooks, @vendorHookHash)
     RETURNING ${columns}`,
  );
  const selectOne = db.prepare(`SELECT ${columns} FROM instances WHERE organization_id = ? AND id = ?`);
  const selectByVendorHook = db.prepare(`SELECT ${columns} FROM instances WHERE vendor_hook_hash = ?`);
  const selectHooked = db.prepare(`SELECT ${columns} FROM instances WHERE organization_id = ? AND id = ? AND vendor_hook_hash = ?`);
  const selectByToken = db.prepare('SELECT id, token_hash AS "tokenHash" FROM instances WHERE organization_id = ? AND token_hash = ?');
  const selectIdempotent = db.prepare(
    "SELECT request_hash AS requestHash, response AS sealedResponse, created_at AS createdAt FROM idempotency_keys WHERE organization_id = ? AND key = ?",
  );
  const forgetIdempotent = db.prepare("DELETE FROM idempotency_keys WHERE organization_id = ? AND key = ?");
  const pruneIdempotent = db.prepare("DELETE FROM idempotency_keys WHERE created_at < ?");
  const insertIdempotent = db.prepare(
    "INSERT INTO idempotency_keys (organization_id, key, request_hash, response, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const sampleInstance = db.prepare(sampledInstance);
  const selectNewest = db.prepare(newestInstance);
  const sampleResponse = db.prepare(sampledResponse);
  const deleteOne = db.prepare("DELETE FROM instances WHERE organization_id = ? AND id = ? AND (? IS NULL OR version = ?)");
  const insertTag = db.prepare("INSERT INTO instance_tags (organization_id, tag, instance_id) VALUES (?, ?, ?)");
  const deleteTag = db.prepare("DELETE FROM instance_tags WHERE organization_id = ? AND tag = ? AND instance_id = ?");
  const countTagged = db
    .prepare("SELECT count(*) FROM (SELECT 1 FROM instance_tags WHERE organization_id = ? AND tag = ? AND instance_id > ? LIMIT ?)")
    .pluck();

  const writeTags = (organizationId: number, id: number, before: string[], after: string[]) => {
    const { added, removed } = tagChanges(before, after);
    for (const tag of removed) deleteTag.run(organizationId, tag, id);
    for (const tag of added) insertTag.run(organizationId, tag, id);
  };

  /**
   * Of the tags, the one with the fewest instances after the cursor, as counted up to what one page
   * examines: a tag with fewer rows left than that ends the walk in this page. Among tags with more,
   * the pick changes how many pages the walk takes (each as bounded), not what any page costs.
   */
  const rarestTag = (organizationId: number, tags: string[], afterId: number, maxExamined: number) => {
    const counts = tags.map((tag) => countTagged.get(organizationId, tag, afterId, maxExamined) as number);
    return tags[counts.indexOf(Math.min(...counts))]!;
  };

  const create = (instance: NewInstance, idempotency?: Parameters<InstanceStore["create"]>[1], followUps?: FollowUps) => {
    if (idempotency) {
      const kept = selectIdempotent.get(instance.organizationId, idempotency.key) as
        (StoredIdempotentResponse & { createdAt: string }) | undefined;
      if (kept && kept.createdAt >= idempotency.expiredBefore)
        return { replay: { requestHash: kept.requestHash, sealedResponse: kept.sealedResponse } };
      if (kept) forgetIdempotent.run(instance.organizationId, idempotency.key);
    }
    const created = toRecord(
      insert.get({
        ...instance,
        tags: JSON.stringify(instance.tags),
        configuration: JSON.stringify(instance.configuration),
        secretKeys: JSON.stringify(instance.secretKeys),
        provisioning: instance.provisioning ?? null,
        refreshDueAt: instance.refreshDueAt ?? null,
        vendorHooks: instance.vendorHooks ?? null,
        vendorHookHash: instance.vendorHookHash ?? null,
      }) as Row,
    );
    writeTags(created.organizationId, created.id, [], created.tags);
    const after = followUps?.(created) ?? {};
    if (idempotency) {
      insertIdempotent.run(
        instance.organizationId,
        idempotency.key,
        idempotency.requestHash,
        after.sealedResponse ?? "",
        instance.createdAt,
      );
    }
    return { created: { record: created, enqueued: after.event ? events.record(after.event, created) : false } };
  };

  const update = (
    organizationId: number,
    id: number,
    expectedVersion: number | undefined,
    changes: InstanceChanges,
    followUps?: FollowUps,
  ): WriteOutcome<Written> => {
    const current = selectOne.get(organizationId, id) as Row | undefined;
    if (!current) return "not-found";
    if (expectedVersion !== undefined && current.version !== expectedVersion) return "version-mismatch";
    const assignments: string[] = ["version = version + 1", "updated_at = @updatedAt"];
    const values: Record<string, unknown> = { organizationId, id, updatedAt: new Date().toISOString() };
    for (const [column, value] of changedColumns(changes)) {
      assignments.push(`${column} = @${column}`);
      values[column] = typeof value === "boolean" ? Number(value) : value;
    }
    if (changes.releasesRefreshClaimOf !== undefined) {
      // Both read the claim as it was before this write.
      assignments.push(
        "refresh_claimed_by = CASE WHEN refresh_claimed_by = @claimOwner THEN NULL ELSE refresh_claimed_by END",
        "refresh_claimed_until = CASE WHEN refresh_claimed_by = @claimOwner THEN NULL ELSE refresh_claimed_until END",
      );
      values.claimOwner = changes.releasesRefreshClaimOf;
    }
    const row = prepared(
      `UPDATE instances SET ${assignments.join(", ")} WHERE organization_id = @organizationId AND id = @id RETURNING ${columns}`,
    ).get(values) as Row;
    const updated = toRecord(row);
    if (changes.tags !== undefined) writeTags(organizationId, id, JSON.parse(current.tags) as string[], updated.tags);
    const event = followUps?.(updated).event;
    return { record: updated, enqueued: event ? events.record(event, updated) : false };
  };

  // The organization's rows from the cursor on, in id order, stopping at the page's end: a walk of
  // (organization_id, id), or of (organization_id, connector_key, id) for one connector. INDEXED BY:
  // statistics that say one organization holds most rows would have SQLite walk the whole table
  // by id instead, every other organization's rows with it.
  const listAll = ({ organizationId, connectorKey, afterId, limit }: ListQuery): ListPage => {
    const rows =
      connectorKey === undefined
        ? (prepared(
            `SELECT ${columns} FROM instances INDEXED BY instances_by_organization WHERE organization_id = ? AND id > ? ORDER BY id LIMIT ?`,
          ).all(organizationId, afterId, limit) as Row[])
        : (prepared(
            `SELECT ${columns} FROM instances INDEXED BY instances_by_connector
             WHERE organization_id = ? AND connector_key = ? AND id > ? ORDER BY id LIMIT ?`,
          ).all(organizationId, connectorKey, afterId, limit) as Row[]);
    return { records: rows.map(toRecord), resumeAfter: undefined };
  };

  // Every tag given (all of them): one tag's rows walk its key in id order from the cursor, each
  // candidate kept when index-only probes find it under the other tags (instance_tags' key) and the
  // connector ((organization_id, connector_key, id)); only the instances kept are read. The walk
  // stops at the page's end or after maxExamined candidates, whichever comes first: then the
  // last candidate (last_examined, the bound-th row of the walked tag) comes back too, matched or
  // not, as where the next page resumes. CROSS JOIN: SQLite keeps the walk the outer loop,
  // whatever it guesses of the tags' spread.
  const listTagged = ({ organizationId, tags, connectorKey, afterId, limit, maxExamined }: ListQuery): ListPage => {
    const wanted = [...new Set(tags)];
    const walked = wanted.length > 1 ? rarestTag(organizationId, wanted, afterId, maxExamined) : wanted[0]!;
    const params: Record<string, unknown> = { organizationId, afterId, limit, walked, bound: maxExamined };
    const probes = wanted
      .filter((tag) => tag !== walked)
      .map((tag, index) => {
        params[`other${index}`] = tag;
        return `EXISTS (SELECT 1 FROM instance_tags AS other WHERE other.organization_id = @organizationId AND other.tag = @other${index} AND other.instance_id = candidate.instance_id)`;
      });
    if (connectorKey !== undefined) {
      params.connectorKey = connectorKey;
      probes.push(
        "EXISTS (SELECT 1 FROM instances AS kept INDEXED BY instances_by_connector WHERE kept.organization_id = @organizationId AND kept.connector_key = @connectorKey AND kept.id = candidate.instance_id)",
      );
    }
    const walk =
      "FROM instance_tags WHERE organization_id = @organizationId AND tag = @walked AND instance_id > @afterId ORDER BY instance_id";
    // Without a probe every candidate is kept: the page's end comes first.
    const candidates = probes.length
      ? `SELECT instance_id, matched, last_examined FROM (
           SELECT candidate.instance_id, ${probes.join(" AND ")} AS matched,
                  candidate.instance_id = (SELECT instance_id ${walk} LIMIT 1 OFFSET @bound - 1) AS last_examined
           FROM (SELECT instance_id ${walk} LIMIT @bound) AS candidate
         ) WHERE matched OR last_examined ORDER BY instance_id LIMIT @limit`
      : `SELECT instance_id, 1 AS matched, 0 AS last_examined ${walk} LIMIT @limit`;
    const rows = prepared(
      `SELECT ${instanceColumnsOfInstances}, found.matched, found.last_examined FROM (${candidates}) AS found
       CROSS JOIN instances ON instances.id = found.instance_id
       WHERE instances.organization_id = @organizationId ORDER BY found.instance_id`,
    ).all(params) as (Row & { matched: number; last_examined: number | null })[];
    const last = rows.at(-1);
    return {
      records: rows.filter((row) => row.matched).map(toRecord),
      resumeAfter: last?.last_examined ? last.id : undefined,
    };
  };

  return {
    create: (instance, idempotency, followUps) => commit(() => create(instance, idempotency, followUps)),
    get: (organizationId, id) => {
      const row = selectOne.get(organizationId, id) as Row | undefined;
      return Promise.resolve(row && toRecord(row));
    },
    findByTokenHash: (organizationId, tokenHash) =>
      Promise.resolve(selectByToken.get(organizationId, tokenHash) as { id: number; tokenHash: Buffer } | undefined),
    list: (query: ListQuery) => Promise.resolve(query.tags.length ? listTagged(query) : listAll(query)),
    update: (organizationId, id, expectedVersion, changes, followUps) =>
      commit(() => update(organizationId, id, expectedVersion, changes, followUps)),
    delete: (organizationId, id, expectedVersion, followUps) =>
      commit((): WriteOutcome<{ enqueued: boolean }> => {
        const current = selectOne.get(organizationId, id) as Row | undefined;
        if (!current) return "not-found";
        const version = expectedVersion ?? null;
        if (deleteOne.run(organizationId, id, version, version).changes !== 1) return "version-mismatch";
        const deleted = toRecord(current);
        writeTags(organizationId, id, deleted.tags, []);
        const event = followUps?.(deleted).event;
        return { enqueued: event ? events.record(event, deleted) : false };
      }),
    recordTestEvent: (organizationId, id, expectedVersion, followUps, limit) =>
      commit((): WriteOutcome<TestEventRecorded> => {
        const current = selectOne.get(organizationId, id) as Row | undefined;
        if (!current) return "not-found";
        if (expectedVersion !== undefined && current.version !== expectedVersion) return "version-mismatch";
        const record = toRecord(current);
        const event = followUps(record).event;
        return event ? events.recordTest(event, record, limit) : { enqueued: undefined };
      }),
    findByVendorHookHash: async (hookHash) => {
      await Promise.resolve();
      const row = selectByVendorHook.get(hookHash) as Row | undefined;
      return row && toRecord(row);
    },
    recordVendorEvents: (organizationId, id, hookHash, drafts) =>
      commit(() => {
        const current = selectHooked.get(organizationId, id, hookHash) as Row | undefined;
        if (!current) return "not-found" as const;
        const record = toRecord(current);
        let enqueued = false;
        for (const draft of drafts) enqueued = events.record(draft, record) || enqueued;
        return { enqueued };
      }),
    pruneIdempotencyKeys: (createdBefore) => commit(() => pruneIdempotent.run(createdBefore).changes),
    readNewest: () => {
      selectNewest.get();
      return Promise.resolve();
    },
    sealedSamples: () =>
      Promise.resolve(
        samplesOf(sampleInstance.get() as Parameters<typeof samplesOf>[0], sampleResponse.get() as Parameters<typeof samplesOf>[1]),
      ),
  };
}
