// The PostgreSQL schema, as versioned migrations applied in order at start (under an advisory
// lock, so that replicas starting together apply each one once). Never edit a released
// migration: add the next one. The same shape as the SQLite schema, in PostgreSQL's types.
import type { Migration } from "./migration.js";

export const postgresMigrations: Migration[] = [
  {
    version: 1,
    name: "accounts, instances and idempotency keys",
    sql: `
      CREATE TABLE organizations (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        secret_hash BYTEA NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );
      CREATE TABLE users (
        id BIGSERIAL PRIMARY KEY,
        organization_id BIGINT NOT NULL REFERENCES organizations (id),
        secret_hash BYTEA NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );
      CREATE TABLE instances (
        id BIGSERIAL PRIMARY KEY,
        organization_id BIGINT NOT NULL REFERENCES organizations (id),
        connector_key TEXT NOT NULL,
        name TEXT NOT NULL,
        tags JSONB NOT NULL,
        configuration JSONB NOT NULL,
        secrets TEXT NOT NULL,
        secret_keys JSONB,
        token_hash BYTEA NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT false,
        version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX instances_by_organization ON instances (organization_id, id);
      CREATE TABLE idempotency_keys (
        organization_id BIGINT NOT NULL REFERENCES organizations (id),
        key TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        response TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (organization_id, key)
      );
    `,
  },
  {
    version: 2,
    name: "the key check",
    // As SQLite's migration 3: one row, shared by every replica, filled by the first start.
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
    // As SQLite's migration 4. The refreshers of every replica claim due rows with
    // FOR UPDATE SKIP LOCKED and a lease (instances/postgres-refresh-store.ts).
    sql: `
      ALTER TABLE instances ADD COLUMN provisioning TEXT;
      ALTER TABLE instances ADD COLUMN refresh_due_at BIGINT;
      ALTER TABLE instances ADD COLUMN refresh_claimed_by TEXT;
      ALTER TABLE instances ADD COLUMN refresh_claimed_until BIGINT;
      CREATE INDEX instances_refresh_due ON instances (refresh_due_at) WHERE refresh_due_at IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: "event signing secrets and the event outbox",
    // As SQLite's migration 5.
    sql: `
      CREATE TABLE event_signing_secrets (
        instance_id BIGINT PRIMARY KEY,
        organization_id BIGINT NOT NULL,
        sealed TEXT NOT NULL,          -- whsec_..., sealed (events/signing-secret.ts)
        created_at TEXT NOT NULL
      );
      CREATE TABLE event_deliveries (
        id BIGSERIAL PRIMARY KEY,
        organization_id BIGINT NOT NULL,
        instance_id BIGINT NOT NULL,
        webhook_id TEXT NOT NULL UNIQUE,
        event_type TEXT NOT NULL,
        payload TEXT NOT NULL,         -- the body, exactly as signed and sent
        secret TEXT NOT NULL,          -- the signing secret, sealed
        url TEXT NOT NULL,
        status TEXT NOT NULL,          -- pending, delivered, failed, dropped
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT,
        last_attempt_at BIGINT,
        last_status INTEGER,
        last_error TEXT,
        lease_owner TEXT,
        lease_until BIGINT,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX event_deliveries_due ON event_deliveries (status, next_attempt_at);
      CREATE INDEX event_deliveries_by_instance ON event_deliveries (instance_id, id);
    `,
  },
  {
    version: 6,
    name: "retired event signing secrets",
    // As SQLite's migration 6.
    sql: `
      ALTER TABLE event_signing_secrets ADD COLUMN retired TEXT;
      ALTER TABLE event_deliveries ADD COLUMN retired_secrets TEXT;
    `,
  },
  {
    version: 7,
    name: "instances by their token's hash, within an organization",
    // As SQLite's migration 7.
    sql: "CREATE INDEX instances_by_token ON instances (organization_id, token_hash);",
  },
  {
    version: 8,
    name: "instances by tag, within an organization",
    // As SQLite's migration 8. COLLATE "C": tags compare byte for byte, as SQLite compares them,
    // and the key compares without the locale's rules. ANALYZE: the planner knows at once how
    // the tags are spread, rather than after autovacuum's first pass over the filled table.
    sql: `
      CREATE TABLE instance_tags (
        organization_id BIGINT NOT NULL,
        tag TEXT COLLATE "C" NOT NULL,
        instance_id BIGINT NOT NULL,
        PRIMARY KEY (organization_id, tag, instance_id)
      );
      INSERT INTO instance_tags (organization_id, tag, instance_id)
        SELECT DISTINCT instances.organization_id, tag, instances.id FROM instances, jsonb_array_elements_text(instances.tags) AS tag;
      ANALYZE instance_tags;
    `,
  },
  {
    version: 9,
    name: "event deliveries: each instance's head marked, and indexes on pending, dropped and settled rows",
    // As SQLite's migration 9, and event_deliveries_heads_by_organization: the claim's walk of one
    // waiting organization's due heads, in the order it takes them (no sort).
    sql: `
      ALTER TABLE event_deliveries ADD COLUMN head BOOLEAN NOT NULL DEFAULT false;
      CREATE INDEX event_deliveries_pending ON event_deliveries (instance_id, id) WHERE status = 'pending';
      UPDATE event_deliveries SET head = true
        WHERE id IN (SELECT min(id) FROM event_deliveries WHERE status = 'pending' GROUP BY instance_id);
      CREATE INDEX event_deliveries_due_heads ON event_deliveries (next_attempt_at, id) WHERE status = 'pending' AND head;
      CREATE INDEX event_deliveries_heads_by_organization ON event_deliveries (organization_id, next_attempt_at, id)
        WHERE status = 'pending' AND head;
      CREATE INDEX event_deliveries_dropped ON event_deliveries (instance_id, id) WHERE status = 'dropped';
      CREATE INDEX event_deliveries_settled ON event_deliveries (created_at) WHERE status <> 'pending';
      DROP INDEX event_deliveries_due;
      ANALYZE event_deliveries;
    `,
  },
  {
    version: 10,
    name: "refresh claims by their owner, and due refreshes by organization",
    // As SQLite's migration 10; the id is the due index's last column here (SQLite's indexes end
    // with the rowid), so that each organization's due refreshes are read in the claim's order.
    sql: `
      CREATE INDEX instances_refresh_claimed_by ON instances (refresh_claimed_by) WHERE refresh_claimed_by IS NOT NULL;
      CREATE INDEX instances_refresh_due_by_organization ON instances (organization_id, refresh_due_at, id) WHERE refresh_due_at IS NOT NULL;
      DROP INDEX instances_refresh_due;
    `,
  },
  {
    version: 11,
    name: "polling vendors for changes: each instance's schedule, lease and checkpoints",
    // As SQLite's migration 11. Replicas claim due polls with FOR UPDATE SKIP LOCKED and a lease.
    sql: `
      CREATE TABLE instance_polls (
        instance_id BIGINT PRIMARY KEY,
        organization_id BIGINT NOT NULL,
        instance_version INTEGER NOT NULL,
        due_at BIGINT,
        claimed_by TEXT,
        claimed_until BIGINT,
        checkpoints TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX instance_polls_due ON instance_polls (due_at) WHERE due_at IS NOT NULL;
    `,
  },
  {
    version: 12,
    name: "vendor webhooks: each instance's receiving secret (hashed) and the hooks registered at its vendor",
    // As SQLite's migration 12.
    sql: `
      ALTER TABLE instances ADD COLUMN vendor_hooks TEXT;
      ALTER TABLE instances ADD COLUMN vendor_hook_hash BYTEA;
      CREATE UNIQUE INDEX instances_vendor_hook_hash ON instances (vendor_hook_hash) WHERE vendor_hook_hash IS NOT NULL;
    `,
  },
  {
    version: 13,
    name: "polls scheduled from a queue of changed instances, claimed per organization through an index",
    // As SQLite's migration 13. The trigger's upsert takes the queue row's lock, so a scheduler
    // removing the mark of the version it scheduled waits for a write of the instance under way and
    // then sees its newer version (and keeps the mark).
    sql: `
      CREATE TABLE instance_poll_changes (
        instance_id BIGINT PRIMARY KEY,
        instance_version INTEGER NOT NULL
      );
      INSERT INTO instance_poll_changes (instance_id, instance_version)
        SELECT i.id, i.version FROM instances i LEFT JOIN instance_polls p ON p.instance_id = i.id
        WHERE p.instance_id IS NULL OR p.instance_version <> i.version;
      CREATE FUNCTION instances_queue_poll() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          DELETE FROM instance_poll_changes WHERE instance_id = OLD.id;
          DELETE FROM instance_polls WHERE instance_id = OLD.id;
          RETURN OLD;
        END IF;
        IF TG_OP = 'INSERT' OR NEW.version <> OLD.version THEN
          INSERT INTO instance_poll_changes (instance_id, instance_version) VALUES (NEW.id, NEW.version)
            ON CONFLICT (instance_id) DO UPDATE SET instance_version = EXCLUDED.instance_version;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER instances_queue_poll AFTER INSERT OR UPDATE OF version OR DELETE ON instances
        FOR EACH ROW EXECUTE FUNCTION instances_queue_poll();
      CREATE INDEX instance_polls_due_by_organization ON instance_polls (organization_id, due_at, instance_id) WHERE due_at IS NOT NULL;
      CREATE INDEX instance_polls_claimed_by ON instance_polls (claimed_by) WHERE claimed_by IS NOT NULL;
      DROP INDEX instance_polls_due;
    `,
  },
  {
    version: 14,
    name: "instances by connector, within an organization",
    // As SQLite's migration 14. Built inside the migration's transaction, as every index here is
    // (CONCURRENTLY cannot run in one): writes to instances wait while it is built, seconds at a
    // million rows. The ANALYZE after the migrations gives the planner its statistics.
    sql: "CREATE INDEX instances_by_connector ON instances (organization_id, connector_key, id);",
  },
];
