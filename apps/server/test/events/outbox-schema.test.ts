// The outbox's schema on both stores: migration 9 marks the head of each instance's pending
// deliveries kept from before it, so they go out as before; and what each planner makes of the
// statements the outbox runs (values bound, as run): the claim reads only due heads, never the
// deliveries queued behind a failing head nor an instance's delivered history, and no statement
// scans the table or sorts what it read from it. PostgreSQL's statements run (rolled back) on an
// analyzed table, so that the rows each read returns are counted.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { InstanceBody } from "../../src/api-types.js";
import { openPostgres } from "../../src/database/postgres.js";
import { postgresMigrations } from "../../src/database/postgres-migrations.js";
import { openSqlite } from "../../src/database/sqlite.js";
import { sqliteMigrations } from "../../src/database/sqlite-migrations.js";
import type { AttemptOutcome, Delivery } from "../../src/events/outbox.js";
import { postgresEventStore, postgresEventWriter } from "../../src/events/postgres-event-store.js";
import { sqliteEventStore, sqliteEventWriter } from "../../src/events/sqlite-event-store.js";
import { postgresInstanceStore } from "../../src/instances/postgres-instance-store.js";
import { sqliteInstanceStore } from "../../src/instances/sqlite-instance-store.js";
import type { FollowUps, InstanceStore } from "../../src/instances/store.js";
import type { EventStore } from "../../src/events/outbox.js";
import { openStorage } from "../../src/storage.js";
import { newInstance } from "../database/store-contract.js";

const callbackUrl = "https://receiver.invalid/events";
const delivered: AttemptOutcome = { attemptAt: 0, status: 204, error: undefined, delivered: true, nextAttemptAt: undefined };
/** A write's event, to be sent (the signing secret is stored, never opened: nothing here sends). */
const event =
  (type: "instance.created" | "instance.updated"): FollowUps =>
  (record) => ({
    event: {
      type,
      notification: { data: { id: record.id } as unknown as InstanceBody, callbackUrl },
      ...(type === "instance.created" ? { newSigningSecret: "v1.sealed-secret" } : {}),
    },
  });
const dueOf = (claimed: Delivery[]) => claimed.map((d) => d.webhookId).sort();

/** Deliveries kept from before migration 9, as literal rows: [instance, webhook id, status]. */
const keptBefore: [number, string, string][] = [
  [10, "msg_a0", "delivered"],
  [10, "msg_a1", "pending"],
  [10, "msg_a2", "pending"],
  [11, "msg_b0", "dropped"],
  [11, "msg_b1", "pending"],
  [12, "msg_c0", "delivered"],
];
const keptRows = keptBefore
  .map(
    ([instance, webhookId, status]) =>
      `(1, ${instance}, '${webhookId}', 'instance.updated', '{}', 'v1.sealed', '${callbackUrl}', '${status}', ${status === "pending" ? 0 : "NULL"}, 0)`,
  )
  .join(", ");
const keptInsert = `INSERT INTO event_deliveries (organization_id, instance_id, webhook_id, event_type, payload, secret, url, status, next_attempt_at, created_at)
  VALUES ${keptRows}`;

/** After the migration: each instance's oldest pending delivery is claimed, then the next. */
async function expectSentAsBefore(events: EventStore): Promise<void> {
  expect(dueOf(await events.claimDue("m", 1, 60_000, 100))).toEqual(["msg_a1", "msg_b1"]);
  const [a1] = (await events.listForInstance(1, 10, 100)).filter((d) => d.webhookId === "msg_a1");
  await events.recordAttempt(a1!.id, "m", delivered);
  expect(dueOf(await events.claimDue("m", 1, 60_000, 100))).toEqual(["msg_a2"]);
}

/** The statements the outbox runs in a round of work: writes' events (past the cap), a claim, an attempt, the listing and its newest dropped, the pruning. */
async function outboxWork(instances: InstanceStore, events: EventStore): Promise<void> {
  const outcome = await instances.create(newInstance(1), undefined, event("instance.created"));
  if (!("created" in outcome)) throw new Error("expected a create");
  const { id } = outcome.created.record;
  for (let i = 0; i < 4; i++) await instances.update(1, id, undefined, {}, event("instance.updated"));
  const claimed = await events.claimDue("plan", Date.now(), Date.now() + 60_000, 16, { perOrganization: 1, skip: [] });
  const mine = claimed.find((d) => d.instanceId === id);
  if (!mine) throw new Error("expected the instance's head to be claimed");
  await events.recordAttempt(mine.id, "plan", delivered);
  const listed = await events.listForInstance(1, id, 100);
  await events.newestDropped(1, id, listed.at(-1)!.id);
  await events.pruneSettled(Date.now() - 30 * 24 * 3_600_000);
}

describe("the outbox's schema on SQLite", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const databaseFile = () => {
    const dir = mkdtempSync(path.join(tmpdir(), "outbox-schema-"));
    dirs.push(dir);
    return path.join(dir, "instances.sqlite");
  };

  it("migration 9 marks the head of each instance's pending deliveries kept from before it", async () => {
    const file = databaseFile();
    const before = openSqlite(
      file,
      sqliteMigrations.filter((migration) => migration.version < 9),
    );
    before.exec(keptInsert);
    before.close();
    const storage = await openStorage({ kind: "sqlite", file });
    try {
      await expectSentAsBefore(storage.events);
    } finally {
      await storage.close();
    }
  });

  it("claims through the due heads only, and runs no statement that scans the table or sorts its rows", async () => {
    const file = databaseFile();
    openSqlite(file).close();
    const executed: string[] = [];
    const db = new Database(file, { verbose: (sql) => executed.push(String(sql)) });
    try {
      db.prepare("INSERT INTO organizations (name, secret_hash, created_at) VALUES ('o', ?, '')").run(randomBytes(32));
      await outboxWork(sqliteInstanceStore(db, sqliteEventWriter(db, 3)), sqliteEventStore(db));
      const plans = executed
        .filter((sql) => /\bevent_deliveries\b/.test(sql) && !sql.startsWith("INSERT"))
        .map((sql) => ({ sql, plan: (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((step) => step.detail) }));
      expect(plans.length).toBeGreaterThanOrEqual(6);
      const reads = (plan: string[]) => plan.filter((step) => /^(SEARCH|SCAN) (event_deliveries|d|e)\b/.test(step));
      const claims = plans.filter(({ sql }) => sql.includes("row_number()"));
      expect(claims).toHaveLength(1);
      for (const { sql, plan } of plans) {
        expect(
          plan.filter((step) => /^SCAN (event_deliveries|d|e)\b/.test(step)),
          sql,
        ).toEqual([]);
        if (claims[0]!.sql === sql) continue;
        expect(
          plan.filter((step) => step.includes("TEMP B-TREE")),
          sql,
        ).toEqual([]);
      }
      // The claim's only read of the table: the due heads, in order (then the rows it leases, by id).
      // It sorts the due heads it read (the round-robin), nothing else.
      expect(reads(claims[0]!.plan)).toEqual([
        "SEARCH event_deliveries USING INTEGER PRIMARY KEY (rowid=?)",
        "SEARCH d USING INDEX event_deliveries_due_heads (next_attempt_at<?)",
      ]);
      // No statement walks an instance's history to find its head or its pending deliveries.
      for (const { sql, plan } of plans.filter(({ sql }) => /status = 'pending'/.test(sql) && !/ORDER BY id DESC LIMIT \d+$/.test(sql)))
        expect(
          plan.filter((step) => step.includes("event_deliveries_by_instance")),
          sql,
        ).toEqual([]);
      const prune = plans.find(({ sql }) => sql.startsWith("DELETE"));
      expect(prune?.plan).toEqual(["SEARCH event_deliveries USING INDEX event_deliveries_settled (created_at<?)"]);
    } finally {
      db.close();
    }
  });
});

describe("the outbox's schema on PostgreSQL", () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  }, 60_000);
  afterAll(() => cluster?.stop());
  afterEach(() => vi.restoreAllMocks());

  /** The URL of a new, empty database of the cluster. */
  async function newDatabase(name: string): Promise<string> {
    await cluster.sql(`CREATE DATABASE ${name}`);
    return cluster.url.replace(/\/instances$/, `/${name}`);
  }

  it("migration 9 marks the head of each instance's pending deliveries kept from before it", async () => {
    const url = await newDatabase("outbox_migrated");
    const before = await openPostgres(
      url,
      postgresMigrations.filter((migration) => migration.version < 9),
    );
    await before.query(keptInsert);
    await before.end();
    const storage = await openStorage({ kind: "postgres", url });
    try {
      await expectSentAsBefore(storage.events);
    } finally {
      await storage.close();
    }
  });

  it("claims only due heads on an analyzed table, and runs no statement that scans the table or sorts its rows", async () => {
    const pool = await openPostgres(await newDatabase("outbox_planned"));
    try {
      await pool.query("INSERT INTO organizations (id, name, secret_hash, created_at) VALUES (1, 'o', '\\x01', '')");
      // Instance 1000: 5,000 delivered, then a failing head waiting a minute and 20,000 queued
      // behind it. Instances 1001-1200, of five other organizations: one due head and two queued each.
      const now = Date.now();
      await pool.query(
        `INSERT INTO event_deliveries (organization_id, instance_id, webhook_id, event_type, payload, secret, url, status, next_attempt_at, created_at, head)
         SELECT 1, 1000, 'msg_h' || i, 'instance.updated', '{}', 'v1.sealed', $2,
                CASE WHEN i <= 5000 THEN 'delivered' ELSE 'pending' END,
                CASE WHEN i <= 5000 THEN NULL WHEN i = 5001 THEN $1::bigint + 60000 ELSE $1::bigint - 1000 END, $1::bigint - 1000, i = 5001
         FROM generate_series(1, 25001) AS i`,
        [now, callbackUrl],
      );
      await pool.query(
        `INSERT INTO event_deliveries (organization_id, instance_id, webhook_id, event_type, payload, secret, url, status, next_attempt_at, created_at, head)
         SELECT 2 + i % 5, 1000 + i, 'msg_o' || i || '_' || j, 'instance.updated', '{}', 'v1.sealed', $2, 'pending', $1::bigint - 1000, $1::bigint - 1000, j = 0
         FROM generate_series(1, 200) AS i, generate_series(0, 2) AS j`,
        [now, callbackUrl],
      );
      await pool.query("ANALYZE event_deliveries");
      const heads = 201;

      const query = vi.spyOn(pg.Client.prototype, "query");
      await outboxWork(postgresInstanceStore(pool, postgresEventWriter(3)), postgresEventStore(pool));
      const statements = query.mock.calls
        .map(([text, values]) => ({ text: String(text), values: values as unknown[] }))
        .filter(({ text }) => /\bevent_deliveries\b/.test(text) && !text.trimStart().startsWith("INSERT"));
      query.mockRestore();
      expect(statements.length).toBeGreaterThanOrEqual(6);
      const client = await pool.connect();
      try {
        for (const { text, values } of statements) {
          await client.query("BEGIN");
          const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
          await client.query("ROLLBACK");
          const plan = rows[0]!["QUERY PLAN"][0].Plan;
          const reads = readsOf(plan);
          expect(
            reads.map((read) => read["Node Type"]),
            text,
          ).not.toContain("Seq Scan");
          // A sort only of what the statement worked out (the claim's heads, for its round-robin), never of rows it reads.
          for (const sort of nodesOf(plan).filter((node) => node["Node Type"] === "Sort"))
            expect(
              readsOf(sort).map((read) => read["Relation Name"] ?? read["Index Name"]),
              text,
            ).toEqual([]);
          // Far fewer than the 20,000 queued behind the failing head, or the instance's 5,000 delivered.
          for (const read of reads) expect(read["Actual Rows"]! * read["Actual Loops"]!, text).toBeLessThanOrEqual(heads);
          if (/row_number\(\)/.test(text))
            expect(reads.map((read) => read["Index Name"]).filter(Boolean), text).toEqual(
              expect.arrayContaining(["event_deliveries_heads_by_organization"]),
            );
        }
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  }, 30_000);
});

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/** The plan's reads of a table or an index. */
function readsOf(node: PlanNode): PlanNode[] {
  return nodesOf(node).filter(
    (n) => (n["Relation Name"] !== undefined || n["Index Name"] !== undefined) && n["Node Type"] !== "ModifyTable",
  );
}
