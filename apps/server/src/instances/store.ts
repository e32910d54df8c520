// Where instances are kept. Secret entries arrive here already sealed and the token only as a
// hash: the store never sees a credential in clear.
import type { EventDraft, TestEventRecorded } from "../events/outbox.js";
import type { TestEventLimit } from "../events/test-events.js";
import { sealingContexts } from "../secrets/contexts.js";
import type { SealedSample } from "../secrets/key-check.js";

export interface InstanceRecord {
  id: number;
  organizationId: number;
  connectorKey: string;
  name: string;
  tags: string[];
  /** The caller's entries that are not secret. */
  configuration: Record<string, string>;
  /** The caller's secret entries, sealed as one JSON object. */
  sealedSecrets: string;
  /** The names of those entries (not secret), or undefined on rows written before they were kept. */
  secretKeys: string[] | undefined;
  disabled: boolean;
  /** Bumped by every write; the ETag. */
  version: number;
  createdAt: string;
  /** The provisioning state (provisioning/state.ts), or undefined for none. */
  provisioning: string | undefined;
  /** When the vendor's tokens are to be refreshed (epoch ms), or null. */
  refreshDueAt: number | null;
  /** The vendor webhooks' state (vendor-hooks/hook-state.ts: the receiving secret sealed, the hooks registered), or undefined for none. */
  vendorHooks: string | undefined;
}

export type NewInstance = Omit<
  InstanceRecord,
  "id" | "version" | "disabled" | "secretKeys" | "provisioning" | "refreshDueAt" | "vendorHooks"
> & {
  secretKeys: string[];
  tokenHash: Buffer;
  provisioning?: string | undefined;
  refreshDueAt?: number | null;
  vendorHooks?: string | undefined;
  /** The SHA-256 of the vendor webhooks' receiving secret, what a post to its URL is looked up by. */
  vendorHookHash?: Buffer | undefined;
};

export interface InstanceChanges {
  name?: string;
  tags?: string[];
  configuration?: Record<string, string>;
  sealedSecrets?: string;
  secretKeys?: string[];
  disabled?: boolean;
  tokenHash?: Buffer;
  provisioning?: string;
  refreshDueAt?: number | null;
  /** Null: the instance receives no vendor webhooks any more (and its hash goes with it). */
  vendorHooks?: string | null;
  vendorHookHash?: Buffer | null;
  /**
   * The refresher's claim this write gives back (refresh-store.ts), when that owner still holds
   * it: a refresh's own write ends its claim, rather than a second write after it.
   */
  releasesRefreshClaimOf?: string;
}

export interface IdempotentCreate {
  key: string;
  requestHash: string;
  /** A key kept from before this time (ISO 8601) has expired: it is forgotten and claimed anew. */
  expiredBefore: string;
}

/**
 * What a write leaves beside its record, in its own transaction: plain data worked out from the
 * record as written (as it was, for a delete) by the write's one pure `FollowUps` function.
 */
export interface WriteFollowUps {
  /** The event to record (events/outbox.ts). */
  event?: EventDraft;
  /** An idempotent create's answer, sealed, kept for its replays. */
  sealedResponse?: string;
}

export type FollowUps = (record: InstanceRecord) => WriteFollowUps;

/** What a write did: the record as written, and whether it enqueued an event delivery (the dispatcher's cue). */
export interface Written {
  record: InstanceRecord;
  enqueued: boolean;
}

export interface StoredIdempotentResponse {
  requestHash: string;
  sealedResponse: string;
}

export interface ListQuery {
  organizationId: number;
  tags: string[];
  connectorKey: string | undefined;
  /** Only instances with a greater id (the cursor). */
  afterId: number;
  limit: number;
  /** How many candidates a walk that checks each may examine (candidatesPerPage; ListPage). */
  maxExamined: number;
}

/**
 * A list's answer: at most `limit` records, oldest first. A filter the store checks on each
 * candidate (a second tag, a connector beside a tag) examines at most `maxExamined` of them: when
 * that bound stops the walk before `limit` records were found, `resumeAfter` is the last id it
 * examined (every id up to it was looked at), and the next page starts after it.
 */
export interface ListPage {
  records: InstanceRecord[];
  resumeAfter: number | undefined;
}

/**
 * How many candidates one page examines at most: what bounds a page's cost where matches are
 * sparse (two common tags that never meet on one instance walked a whole organization per page).
 * Each costs a step of instance_tags' key and one index-only probe per other filter, never an
 * instance's row; a list by several tags first counts each tag's rows up to this many too.
 */
export const candidatesPerPage = 2000;

export type WriteOutcome<T> = T | "not-found" | "version-mismatch";

// A store takes plain data and returns what happened; it never calls back up into an operation.
// The one function a write may take, its follow-ups, is pure: from the record written to the
// event to record and the answer to remember, or nothing at all if the write fails.

export interface InstanceStore {
  /** Creates the instance, or, when the idempotency key was used before, returns what was kept instead. */
  create(
    instance: NewInstance,
    idempotency?: IdempotentCreate,
    followUps?: FollowUps,
  ): Promise<{ created: Written } | { replay: StoredIdempotentResponse }>;
  get(organizationId: number, id: number): Promise<InstanceRecord | undefined>;
  /**
   * The organization's instance whose token has this hash (its id and the hash as stored), read
   * through the index on (organization_id, token_hash): how an `Element` token is authenticated.
   */
  findByTokenHash(organizationId: number, tokenHash: Buffer): Promise<{ id: number; tokenHash: Buffer } | undefined>;
  /** The instance whose vendor webhooks' receiving secret has this hash (any organization's): how a vendor's post is authenticated. */
  findByVendorHookHash(hookHash: Buffer): Promise<InstanceRecord | undefined>;
  /**
   * Records the events of a vendor's post, through the event writer (its pending cap applies), in
   * one transaction with the instance read (locked, on PostgreSQL) and still holding the secret
   * with this hash: not-found when it was deleted, or its receiving secret retired, meanwhile.
   */
  recordVendorEvents(
    organizationId: number,
    id: number,
    hookHash: Buffer,
    drafts: EventDraft[],
  ): Promise<{ enqueued: boolean } | "not-found">;
  /** Oldest first (by id); possibly fewer than `limit` with more to come (ListPage). */
  list(query: ListQuery): Promise<ListPage>;
  /** Applies the changes if the instance is at `expectedVersion` (any version when undefined). */
  update(
    organizationId: number,
    id: number,
    expectedVersion: number | undefined,
    changes: InstanceChanges,
    followUps?: FollowUps,
  ): Promise<WriteOutcome<Written>>;
  delete(
    organizationId: number,
    id: number,
    expectedVersion: number | undefined,
    followUps?: FollowUps,
  ): Promise<WriteOutcome<{ enqueued: boolean }>>;
  /**
   * Records a test event of the instance at `expectedVersion` (any version when undefined), in one
   * transaction with the instance read (locked, on PostgreSQL) but not changed: neither its version
   * nor its ETag moves. Its follow-ups work out the event; `limit` may hold it back.
   */
  recordTestEvent(
    organizationId: number,
    id: number,
    expectedVersion: number | undefined,
    followUps: FollowUps,
    limit: TestEventLimit,
  ): Promise<WriteOutcome<TestEventRecorded>>;
  /** Forgets the idempotency keys kept from before `createdBefore` (ISO 8601); returns how many. */
  pruneIdempotencyKeys(createdBefore: string): Promise<number>;
  /** A few of the values this store keeps sealed, with their contexts, for the key check (none when it keeps none). */
  sealedSamples(): Promise<SealedSample[]>;
  /**
   * Reads the newest row, for the health check: a database that answers `SELECT 1` but whose data
   * cannot be read is not healthy.
   */
  readNewest(): Promise<void>;
}

export const newestInstance = "SELECT id FROM instances ORDER BY id DESC LIMIT 1";

/** The sampled rows, as both dialects read them: one instance's secrets, one kept answer. */
export function samplesOf(
  instance: { organizationId: number; secrets: string } | undefined,
  kept: { organizationId: number; key: string; response: string } | undefined,
): SealedSample[] {
  const samples: SealedSample[] = [];
  if (instance) samples.push({ sealed: instance.secrets, context: sealingContexts.instanceSecrets(instance.organizationId) });
  if (kept) samples.push({ sealed: kept.response, context: sealingContexts.idempotentResponse(kept.organizationId, kept.key) });
  return samples;
}

export const sampledInstance = `SELECT organization_id AS "organizationId", secrets FROM instances ORDER BY id LIMIT 1`;
export const sampledResponse = `SELECT organization_id AS "organizationId", key, response FROM idempotency_keys WHERE response <> '' LIMIT 1`;

/** An instances row as both stores read it (SQLite's decoded from its JSON and integer columns). */
export interface InstanceRow {
  id: number;
  organization_id: number;
  connector_key: string;
  name: string;
  tags: string[];
  configuration: Record<string, string>;
  secrets: string;
  secret_keys: string[] | null;
  disabled: boolean;
  version: number;
  created_at: string;
  provisioning: string | null;
  refresh_due_at: number | null;
  vendor_hooks: string | null;
}

export const instanceColumns =
  "id, organization_id, connector_key, name, tags, configuration, secrets, secret_keys, disabled, version, created_at, provisioning, refresh_due_at, vendor_hooks";

/** The same columns, named by their table: for a list that joins instance_tags (which has an organization_id too). */
export const instanceColumnsOfInstances = instanceColumns
  .split(", ")
  .map((column) => `instances.${column}`)
  .join(", ");

/**
 * The rows of instance_tags a write adds and removes (from the tags before to the tags after; a
 * create has none before, a delete none after). instances.tags keeps what the instance shows, in
 * its order; instance_tags is its index, one row per tag: both stores keep it so in each write's
 * transaction.
 */
export function tagChanges(before: readonly string[], after: readonly string[]): { added: string[]; removed: string[] } {
  const kept = new Set(before);
  const wanted = new Set(after);
  return { added: [...wanted].filter((tag) => !kept.has(tag)), removed: [...kept].filter((tag) => !wanted.has(tag)) };
}

export function recordFromRow(row: InstanceRow): InstanceRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    connectorKey: row.connector_key,
    name: row.name,
    tags: row.tags,
    configuration: row.configuration,
    sealedSecrets: row.secrets,
    secretKeys: row.secret_keys ?? undefined,
    disabled: row.disabled,
    version: row.version,
    createdAt: row.created_at,
    provisioning: row.provisioning ?? undefined,
    refreshDueAt: row.refresh_due_at,
    vendorHooks: row.vendor_hooks ?? undefined,
  };
}

/**
 * The columns a change sets, with their values as both stores bind them (JSON as text; `disabled`
 * as a boolean, which the SQLite store turns into 0 or 1). Each store writes its own placeholders.
 */
export function changedColumns(changes: InstanceChanges): [column: string, value: unknown][] {
  const columns: [string, unknown][] = [];
  if (changes.name !== undefined) columns.push(["name", changes.name]);
  if (changes.tags !== undefined) columns.push(["tags", JSON.stringify(changes.tags)]);
  if (changes.configuration !== undefined) columns.push(["configuration", JSON.stringify(changes.configuration)]);
  if (changes.sealedSecrets !== undefined) columns.push(["secrets", changes.sealedSecrets]);
  if (changes.secretKeys !== undefined) columns.push(["secret_keys", JSON.stringify(changes.secretKeys)]);
  if (changes.disabled !== undefined) columns.push(["disabled", changes.disabled]);
  if (changes.tokenHash !== undefined) columns.push(["token_hash", changes.tokenHash]);
  if (changes.provisioning !== undefined) columns.push(["provisioning", changes.provisioning]);
  if (changes.refreshDueAt !== undefined) columns.push(["refresh_due_at", changes.refreshDueAt]);
  if (changes.vendorHooks !== undefined) columns.push(["vendor_hooks", changes.vendorHooks]);
  if (changes.vendorHookHash !== undefined) columns.push(["vendor_hook_hash", changes.vendorHookHash]);
  return columns;
}
