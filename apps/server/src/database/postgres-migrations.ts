// The PostgreSQL schema, as versioned migrations applied in order at start (under an advisory
// lock, so that replicas starting together apply each one once). Never edit a released
// migration: add the next one. The same shape as the SQLite schema, in PostgreSQL's types.
import type { Migration } from "./sqlite-migrations.js";

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
    // FOR UPDATE SKIP LOCKED and a lease (provisioning/postgres-refresh-store.ts).
    sql: `
      ALTER TABLE instances ADD COLUMN provisioning TEXT;
      ALTER TABLE instances ADD COLUMN refresh_due_at BIGINT;
      ALTER TABLE instances ADD COLUMN refresh_claimed_by TEXT;
      ALTER TABLE instances ADD COLUMN refresh_claimed_until BIGINT;
      CREATE INDEX instances_refresh_due ON instances (refresh_due_at) WHERE refresh_due_at IS NOT NULL;
    `,
  },
];
