// The SQLite schema, as versioned migrations applied in order at start. Never edit a released
// migration: add the next one.
import type { Migration } from "./migration.js";

export const sqliteMigrations: Migration[] = [
  {
    version: 1,
    name: "accounts, instances and idempotency keys",
    sql: `
      CREATE TABLE organizations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        secret_hash BLOB NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );
      CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        organization_id INTEGER NOT NULL REFERENCES organizations (id),
        secret_hash BLOB NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );
      -- AUTOINCREMENT: ids are never reused, so an id cursor never repeats nor skips an instance.
      CREATE TABLE instances (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        organization_id INTEGER NOT NULL REFERENCES organizations (id),
        connector_key TEXT NOT NULL,
        name TEXT NOT NULL,
        tags TEXT NOT NULL,            -- JSON array of strings
        configuration TEXT NOT NULL,   -- JSON object: the caller's entries that are not secret
        secrets TEXT NOT NULL,         -- the caller's secret entries, sealed (AES-256-GCM)
        token_hash BLOB NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX instances_by_organization ON instances (organization_id, id);
      CREATE TABLE idempotency_keys (
        organization_id INTEGER NOT NULL REFERENCES organizations (id),
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response TEXT NOT NULL,        -- the first response, sealed: it holds the instance token
        created_at TEXT NOT NULL,
        PRIMARY KEY (organization_id, key)
      );
    `,
  },
  {
    version: 2,
    name: "the names of an instance's secret entries, in clear",
    // The names are not secret, and knowing them lets a read mask the entries without decrypting
    // them. NULL on rows written before: those are read by decrypting, as before.
    sql: "ALTER TABLE instances ADD COLUMN secret_keys TEXT;",
  },
  {
    version: 3,
    name: "the key check",
    // One row: a known value sealed with the key the data is sealed with (secrets/key-check.ts).
    // Filled on the first start that proves its key, not here: a migration has no key.
    sql: `
      CREATE TABLE key_check (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sealed TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: "provisioning: the state of the last credential check, and when its tokens are refreshed",
    // provisioning: JSON (valid, interactions, issued entries; issued secrets sealed), NULL for a
    // row from before or with PROVISIONING=off. refresh_due_at: epoch ms, NULL when nothing is
    // to refresh; a replica claims a due refresh by writing its name and a lease's end
    // (instances/refresh-store.ts), so no two refresh the same instance at once.
    sql: `
      ALTER TABLE instances ADD COLUMN provisioning TEXT;
      ALTER TABLE instances ADD COLUMN refresh_due_at INTEGER;
      ALTER TABLE instances ADD COLUMN refresh_claimed_by TEXT;
      ALTER TABLE instances ADD COLUMN refresh_claimed_until INTEGER;
      CREATE INDEX instances_refresh_due ON instances (refresh_due_at) WHERE refresh_due_at IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: "event signing secrets and the event outbox",
    // The events of an instance's lifecycle (events/). Written in the same transaction as the
    // change that causes them; a delivery row outlives its instance (so no foreign key), and keeps
    // a sealed copy of the signing secret its event is signed with. Times to compare are
    // milliseconds since the epoch.
    sql: `
      CREATE TABLE event_signing_secrets (
        instance_id INTEGER PRIMARY KEY,
        organization_id INTEGER NOT NULL,
        sealed TEXT NOT NULL,          -- whsec_..., sealed (events/signing-secret.ts)
        created_at TEXT NOT NULL
      );
      CREATE TABLE event_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        organization_id INTEGER NOT NULL,
        instance_id INTEGER NOT NULL,
        webhook_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,         -- the body, exactly as signed and sent
        secret TEXT NOT NULL,          -- the signing secret, sealed
        url TEXT NOT NULL,
        status TEXT NOT NULL,          -- pending, delivered, failed, dropped
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_attempt_at INTEGER,
        last_status INTEGER,
        last_error TEXT,
        lease_owner TEXT,
        lease_until INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX event_deliveries_due ON event_deliveries (status, next_attempt_at);
      CREATE INDEX event_deliveries_by_instance ON event_deliveries (instance_id, id);
    `,
  },
  {
    version: 6,
    name: "retired event signing secrets",
    // A rotation retires the instance's signing secret; for 24 hours it still signs, beside the new
    // one, every attempt of the instance's deliveries (events/outbox.ts). retired: JSON, newest
    // first, of {sealed, retiredAt (epoch ms)}, each secret sealed as before; NULL for none. A
    // delivery carries a copy (it outlives its instance), rewritten on each rotation while pending.
    sql: `
      ALTER TABLE event_signing_secrets ADD COLUMN retired TEXT;
      ALTER TABLE event_deliveries ADD COLUMN retired_secrets TEXT;
    `,
  },
  {
    version: 7,
    name: "instances by their token's hash, within an organization",
    // How an `Authorization: ..., Element <instance token>` header finds its instance: one read of
    // this index for every such request (the Element part is never cached: a rotation must stop
    // the old token at once, on every replica).
    sql: "CREATE INDEX instances_by_token ON instances (organization_id, token_hash);",
  },
  {
    version: 8,
    name: "instances by tag, within an organization",
    // A list filtered by tags walks one tag's rows in instance id order, from the cursor on, instead
    // of reading the tags of every instance of the organization: a page costs the same whether the
    // tag is on every instance or on none. instances.tags stays what an instance shows (in the
    // order given); the store writes this table in the same transaction as every write that sets
    // or deletes tags (instances/sqlite-instance-store.ts). WITHOUT ROWID: the key is the row. Filled
    // in the key's order, each row lands at the end of the tree (1M instances of about three tags: 3.6 s,
    // against 8.3 s in the instances' order); OR IGNORE: a tag given twice is one row.
    sql: `
      CREATE TABLE instance_tags (
        organization_id INTEGER NOT NULL,
        tag TEXT NOT NULL,
        instance_id INTEGER NOT NULL,
        PRIMARY KEY (organization_id, tag, instance_id)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO instance_tags (organization_id, tag, instance_id)
        SELECT instances.organization_id, tag.value, instances.id FROM instances, json_each(instances.tags) AS tag ORDER BY 1, 2, 3;
    `,
  },
  {
    version: 9,
    name: "event deliveries: each instance's head marked, and indexes on pending, dropped and settled rows",
    // head: 1 on the pending delivery with the smallest id of its instance, the one the dispatcher
    // may send (events go out in order per instance); kept so by the writes that change it
    // (events/sqlite-event-store.ts), and meaningless once a row is no longer pending. The claim
    // reads only the heads that are due, through event_deliveries_due_heads: never the pending
    // rows queued behind a failing head, nor an instance's delivered history (what the
    // min(id) of migration 5's claim walked, per due row). event_deliveries_pending: an
    // instance's pending rows in order (its head, the cap on how many). event_deliveries_dropped:
    // the listing's newest dropped delivery. event_deliveries_settled: the hourly pruning.
    // event_deliveries_due indexed every row by status for that claim only: no statement reads it now.
    sql: `
      ALTER TABLE event_deliveries ADD COLUMN head INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX event_deliveries_pending ON event_deliveries (instance_id, id) WHERE status = 'pending';
      UPDATE event_deliveries SET head = 1
        WHERE id IN (SELECT min(id) FROM event_deliveries WHERE status = 'pending' GROUP BY instance_id);
      CREATE INDEX event_deliveries_due_heads ON event_deliveries (next_attempt_at, id) WHERE status = 'pending' AND head = 1;
      CREATE INDEX event_deliveries_dropped ON event_deliveries (instance_id, id) WHERE status = 'dropped';
      CREATE INDEX event_deliveries_settled ON event_deliveries (created_at) WHERE status <> 'pending';
      DROP INDEX event_deliveries_due;
    `,
  },
  {
    version: 10,
    name: "refresh claims by their owner, and due refreshes by organization",
    // A replica that stops gives back every claim it holds (refresh_claimed_by = its name): without
    // an index that read the whole table (314 ms at 1M instances). Partial: only the claimed rows,
    // a handful, are in it. A claim walks each organization's due refreshes from its earliest
    // (instances/sqlite-refresh-store.ts), through the second index, rather than reading and
    // numbering every due row of every organization (45 ms with 26,000 due): it takes over from
    // the index on refresh_due_at alone, which nothing reads any more.
    sql: `
      CREATE INDEX instances_refresh_claimed_by ON instances (refresh_claimed_by) WHERE refresh_claimed_by IS NOT NULL;
      CREATE INDEX instances_refresh_due_by_organization ON instances (organization_id, refresh_due_at) WHERE refresh_due_at IS NOT NULL;
      DROP INDEX instances_refresh_due;
    `,
  },
  {
    version: 11,
    name: "polling vendors for changes: each instance's schedule, lease and checkpoints",
    // One row per instance the poller has seen (polling/), for the version of the instance it
    // worked the schedule out from: due_at NULL when the instance is not polled. A replica claims a
    // due poll as it claims a refresh (claimed_by, claimed_until); checkpoints: JSON, per watched
    // resource, the time changes are asked for since and the ids already sent at that time;
    // started_at: the checkpoint of a resource polled for the first time. Written with the events
    // of each page, in one transaction (polling/sqlite-poll-store.ts). Times: epoch ms.
    sql: `
      CREATE TABLE instance_polls (
        instance_id INTEGER PRIMARY KEY,
        organization_id INTEGER NOT NULL,
        instance_version INTEGER NOT NULL,
        due_at INTEGER,
        claimed_by TEXT,
        claimed_until INTEGER,
        checkpoints TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX instance_polls_due ON instance_polls (due_at) WHERE due_at IS NOT NULL;
    `,
  },
  {
    version: 12,
    name: "vendor webhooks: each instance's receiving secret (hashed) and the hooks registered at its vendor",
    // vendor_hooks: JSON, the secret of the instance's receiving URL sealed for its organization
    // and the vendor's id of each hook registered, by watched resource (vendor-hooks/); NULL when
    // the instance receives no vendor webhooks. vendor_hook_hash: the secret's SHA-256, what a
    // post to the receiving URL is looked up by (unique: one instance per secret).
    sql: `
      ALTER TABLE instances ADD COLUMN vendor_hooks TEXT;
      ALTER TABLE instances ADD COLUMN vendor_hook_hash BLOB;
      CREATE UNIQUE INDEX instances_vendor_hook_hash ON instances (vendor_hook_hash) WHERE vendor_hook_hash IS NOT NULL;
    `,
  },
  {
    version: 13,
    name: "polls scheduled from a queue of changed instances, claimed per organization through an index",
    // The poller worked out which instances were new or changed by joining every instance to its
    // poll row on every tick (a scan of the whole table each second on every replica). Now each
    // write of an instance queues it (instance_poll_changes, kept by triggers in the write's own
    // transaction: the instance store need not know about polling), and the poller reads only the
    // queue. The queue row holds the version queued, so that scheduling an older version never
    // removes the mark of a newer one. A deleted instance leaves neither a queue row nor a poll row.
    // A claim walks the due polls of each organization through (organization_id, due_at,
    // instance_id), as the refreshes' claim does, rather than every due row.
    sql: `
      CREATE TABLE instance_poll_changes (
        instance_id INTEGER PRIMARY KEY,
        instance_version INTEGER NOT NULL
      );
      INSERT INTO instance_poll_changes (instance_id, instance_version)
        SELECT i.id, i.version FROM instances i LEFT JOIN instance_polls p ON p.instance_id = i.id
        WHERE p.instance_id IS NULL OR p.instance_version <> i.version;
      CREATE TRIGGER instances_queue_poll_on_insert AFTER INSERT ON instances BEGIN
        INSERT INTO instance_poll_changes (instance_id, instance_version) VALUES (new.id, new.version)
          ON CONFLICT (instance_id) DO UPDATE SET instance_version = excluded.instance_version;
      END;
      CREATE TRIGGER instances_queue_poll_on_update AFTER UPDATE OF version ON instances WHEN new.version <> old.version BEGIN
        INSERT INTO instance_poll_changes (instance_id, instance_version) VALUES (new.id, new.version)
          ON CONFLICT (instance_id) DO UPDATE SET instance_version = excluded.instance_version;
      END;
      CREATE TRIGGER instances_forget_poll_on_delete AFTER DELETE ON instances BEGIN
        DELETE FROM instance_poll_changes WHERE instance_id = old.id;
        DELETE FROM instance_polls WHERE instance_id = old.id;
      END;
      CREATE INDEX instance_polls_due_by_organization ON instance_polls (organization_id, due_at, instance_id) WHERE due_at IS NOT NULL;
      CREATE INDEX instance_polls_claimed_by ON instance_polls (claimed_by) WHERE claimed_by IS NOT NULL;
      DROP INDEX instance_polls_due;
    `,
  },
  {
    version: 14,
    name: "instances by connector, within an organization",
    // A list of one connector walked (organization_id, id) and skipped the others' rows: for a
    // connector none of the organization's instances has, every row of the organization. This key
    // finds the connector's rows from the cursor on, and answers a list by tags and a connector with
    // an index-only probe per candidate. \`id\` is the rowid, in every index anyway: named, the key
    // reads as the list's order. The server's PRAGMA optimize at start analyzes it.
    sql: "CREATE INDEX instances_by_connector ON instances (organization_id, connector_key, id);",
  },
];
