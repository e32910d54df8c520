// The instance lifecycle: create (idempotently), list, read, update, replace, delete, rotate the
// token. It validates against the connector registry, seals secrets before they reach the store
// and never returns one in clear.
import { createHash } from "node:crypto";
import { stringify } from "safe-stable-stringify";
import type { CreateInstanceBody, InstanceBody, UpdateInstanceRequest } from "../api-types.js";
import type { Caller } from "../accounts/store.js";
import type { Connector, ConnectorRegistry } from "../connectors/registry.js";
import { callbackUrlEntry, enabledEntry, type LifecycleEvents } from "../events/lifecycle.js";
import { InvalidConfigurationError } from "../connectors/errors.js";
import { NotFoundError, PreconditionFailedError } from "../errors.js";
import { sealingContexts } from "../secrets/contexts.js";
import type { InstanceProvisioning } from "../provisioning/instance-provisioning.js";
import type { VendorLease } from "../provisioning/vendor-lease.js";
import { shownState } from "../provisioning/state.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { hashSecret, newToken } from "../secrets/tokens.js";
import { decodeCursor, encodeCursor, type ListFilters } from "./cursor.js";
import {
  ConnectorMismatchError,
  CredentialsRequiredError,
  IdempotencyKeyReusedError,
  IdempotentInstanceDeletedError,
  VerifyTooSoonError,
  WriteConflictError,
} from "./errors.js";
import { etagOf, ifMatchAccepts, instanceBody } from "./representation.js";
import type { InstanceChanges, InstanceRecord, InstanceStore } from "./store.js";

export interface InstanceResult {
  instance: InstanceBody;
  etag: string;
}

export interface ListRequest extends ListFilters {
  pageSize: number;
  nextPage: string | undefined;
}

export interface InstancesDeps {
  store: InstanceStore;
  registry: ConnectorRegistry;
  secretBox: SecretBox;
  /** How long an Idempotency-Key is remembered. */
  idempotencyKeyTtlSeconds: number;
  /** The lifecycle events each write records (events/). */
  events: LifecycleEvents;
  /** Checks credentials with the vendor before a create or a credential change, and refreshes tokens. */
  provisioning: InstanceProvisioning;
  /** The per-instance lease on calls to the vendor, shared with the refresher (and every replica). */
  vendorLease: VendorLease;
}

// An update retried this often when other writers keep moving the version under it.
const maxUpdateAttempts = 5;

export type InstancesService = ReturnType<typeof instancesService>;

export function instancesService({
  store,
  registry,
  secretBox,
  idempotencyKeyTtlSeconds,
  events,
  provisioning,
  vendorLease,
}: InstancesDeps) {
  // Verifies in flight on this replica, by instance: concurrent ones share one call to the vendor.
  const verifying = new Map<string, Promise<InstanceResult>>();
  const { instanceSecrets: secretsContext, idempotentResponse: idempotencyContext } = sealingContexts;

  /** Splits a configuration into the entries kept in clear and the sealed secret ones. */
  function seal(connector: Connector, organizationId: number, configuration: Record<string, string>) {
    const clear: Record<string, string> = {};
    const secret: Record<string, string> = {};
    for (const [key, value] of Object.entries(configuration)) {
      if (connector.secretKeys.has(key)) secret[key] = value;
      else clear[key] = value;
    }
    return {
      clear,
      secretKeys: Object.keys(secret),
      sealedSecrets: secretBox.seal(JSON.stringify(secret), secretsContext(organizationId)),
    };
  }

  function openSecrets(record: InstanceRecord): Record<string, string> {
    return JSON.parse(secretBox.open(record.sealedSecrets, secretsContext(record.organizationId))) as Record<string, string>;
  }

  function present(record: InstanceRecord, token?: string): InstanceResult {
    const connector = registry.require(record.connectorKey);
    const secretKeys = record.secretKeys ?? Object.keys(openSecrets(record));
    return { instance: instanceBody(record, connector, secretKeys, token), etag: etagOf(record) };
  }

  /** The instance as an event shows it: as the API does, with no token. */
  const presentForEvent = (record: InstanceRecord) => present(record).instance;

  /**
   * instance.invalid or instance.valid when these changes turn the instance's validity (a check
   * or a refresh the vendor refused, or one that succeeds again); undefined when they do not.
   */
  function validityEvent(record: InstanceRecord, changes: InstanceChanges): "instance.invalid" | "instance.valid" | undefined {
    if (changes.provisioning === undefined) return undefined;
    const before = shownState(record.provisioning).valid;
    const after = shownState(changes.provisioning).valid;
    if (before === after) return undefined;
    return after ? "instance.valid" : "instance.invalid";
  }

  async function find(caller: Caller, id: number): Promise<InstanceRecord> {
    const record = await store.get(caller.organizationId, id);
    if (!record) throw new NotFoundError(`There is no instance ${id}`);
    return record;
  }

  function checkIfMatch(ifMatch: string | undefined, record: InstanceRecord): void {
    if (ifMatch !== undefined && !ifMatchAccepts(ifMatch, record)) {
      throw new PreconditionFailedError(`If-Match ${ifMatch} does not match the instance's current ETag ${etagOf(record)}; read it again`);
    }
  }

  /**
   * Read, change, write at the version read; again if another writer got in between (unless
   * If-Match pins it). The changes are worked out once: a change that asks the vendor never asks
   * it again on a retry. When the writer in between changed the instance's credentials, the
   * changes no longer apply: a 409.
   */
  async function write(
    caller: Caller,
    id: number,
    ifMatch: string | undefined,
    change: (record: InstanceRecord) => InstanceChanges | Promise<InstanceChanges>,
    issued?: { token: string; eventSigningSecret: string },
  ) {
    // A write that issues a token is a rotation; any other, an update.
    const event = issued ? "instance.token_rotated" : "instance.updated";
    let worked: { basis: string; changes: InstanceChanges } | undefined;
    for (let attempt = 1; ; attempt++) {
      const record = await find(caller, id);
      checkIfMatch(ifMatch, record);
      const basis = credentialBasis(record);
      if (worked && worked.basis !== basis) throw new WriteConflictError();
      worked ??= { basis, changes: await change(record) };
      const { changes } = worked;
      const intent = events.intent(validityEvent(record, changes) ?? event, presentForEvent, issued?.eventSigningSecret);
      const outcome = await store.update(caller.organizationId, id, record.version, changes, intent);
      if (outcome === "not-found") throw new NotFoundError(`There is no instance ${id}`);
      if (outcome !== "version-mismatch") {
        events.committed(intent);
        const result = present(outcome, issued?.token);
        return issued ? { ...result, instance: { ...result.instance, eventSigningSecret: issued.eventSigningSecret } } : result;
      }
      if (ifMatch !== undefined)
        throw new PreconditionFailedError("The instance changed while this request was being applied; read it again");
      if (attempt >= maxUpdateAttempts) throw new WriteConflictError();
    }
  }

  /** What a change's checks with the vendor were worked out from: the instance's credentials and provisioning state. */
  function credentialBasis(record: InstanceRecord): string {
    return JSON.stringify([record.configuration, record.sealedSecrets, record.provisioning ?? null]);
  }

  /**
   * A change's check with the vendor, under the instance's vendor lease (the one verify and the
   * refresher take): at most one call in flight per instance, and none sooner than the shortest
   * interval after the last, else a 429. `held` collects the lease for the caller to end once
   * the write is done. No lease, and no call, when the change touches no credential.
   */
  async function checkedChange(
    held: number[],
    connector: Connector,
    record: InstanceRecord,
    before: Record<string, string>,
    after: Record<string, string>,
    supplied: ReadonlySet<string>,
  ): Promise<InstanceChanges> {
    if (!provisioning.checksAgain(connector, before, after)) return {};
    await claimVendor(record.organizationId, record.id);
    held.push(record.id);
    return provisioning.forChange(connector, record, before, after, supplied);
  }

  async function claimVendor(organizationId: number, id: number): Promise<void> {
    const claim = await vendorLease.claim(organizationId, id);
    if ("gone" in claim) throw new NotFoundError(`There is no instance ${id}`);
    if (!claim.claimed) throw new VerifyTooSoonError(Math.max(1, Math.ceil((claim.heldUntil - Date.now()) / 1000)));
  }

  /** Ends the vendor leases a write took, once it is done: each held on for the shortest interval between checks. */
  async function coolDown(held: number[]): Promise<void> {
    await Promise.all(held.map((id) => vendorLease.coolDown(id)));
  }

  async function updateHolding(
    held: number[],
    caller: Caller,
    id: number,
    patch: UpdateInstanceRequest,
    ifMatch: string | undefined,
  ): Promise<InstanceResult> {
    await events.checkCallbackUrl(patch.configuration);
    return write(caller, id, ifMatch, async (record) => {
      let changes: InstanceChanges = { name: patch.name, tags: patch.tags, disabled: patch.disabled };
      if (patch.configuration !== undefined) {
        const connector = registry.require(record.connectorKey);
        // Every name the patch sends, to set or to remove, must be one of the connector's entries.
        registry.checkEntryNames(connector.key, Object.keys(patch.configuration));
        // A Map, then fromEntries: keys such as __proto__ stay plain data and fail validation.
        const before = { ...record.configuration, ...openSecrets(record) };
        const merged = new Map(Object.entries(before));
        for (const [key, value] of Object.entries(patch.configuration)) {
          if (value === null) merged.delete(key);
          else merged.set(key, value);
        }
        const configuration = Object.fromEntries(merged);
        registry.checkConfiguration(connector.key, configuration);
        checkNotificationTarget(connector.key, configuration);
        const supplied = Object.entries(patch.configuration).filter(([, value]) => value !== null);
        checkSecretsSentAgain(
          connector,
          before,
          configuration,
          supplied.map(([key]) => key),
        );
        const sealed = seal(connector, record.organizationId, configuration);
        changes.configuration = sealed.clear;
        changes.sealedSecrets = sealed.sealedSecrets;
        changes.secretKeys = sealed.secretKeys;
        const sent = new Set(supplied.map(([key]) => key));
        changes = { ...changes, ...(await checkedChange(held, connector, record, before, configuration, sent)) };
      }
      return changes;
    });
  }

  async function replaceHolding(
    held: number[],
    caller: Caller,
    id: number,
    body: CreateInstanceBody,
    ifMatch: string | undefined,
  ): Promise<InstanceResult> {
    checkNotificationTarget(body.your_mom.key, body.configuration);
    await events.checkCallbackUrl(body.configuration);
    return write(caller, id, ifMatch, async (record) => {
      if (body.your_mom.key !== record.connectorKey) throw new ConnectorMismatchError(record.connectorKey, body.your_mom.key);
      const connector = registry.require(record.connectorKey);
      const sealed = seal(connector, record.organizationId, body.configuration);
      const before = { ...record.configuration, ...openSecrets(record) };
      const supplied = Object.keys(body.configuration);
      checkSecretsSentAgain(connector, before, body.configuration, supplied);
      return {
        name: body.name,
        tags: body.tags ?? [],
        configuration: sealed.clear,
        sealedSecrets: sealed.sealedSecrets,
        secretKeys: sealed.secretKeys,
        ...(await checkedChange(held, connector, record, before, body.configuration, new Set(supplied))),
      };
    });
  }

  /** Refuses notifications turned on with nowhere to send them. */
  function checkNotificationTarget(connector: string, configuration: Readonly<Record<string, string | null>>): void {
    if (configuration[enabledEntry] === "true" && !configuration[callbackUrlEntry]) {
      throw new InvalidConfigurationError(connector, [
        { path: `/body/configuration/${callbackUrlEntry}`, message: `is required when ${enabledEntry} is "true"` },
      ]);
    }
  }

  /** Refuses a change that moves the address stored secrets go to without sending them again. */
  function checkSecretsSentAgain(
    connector: Connector,
    before: Record<string, string>,
    after: Record<string, string>,
    supplied: Iterable<string>,
  ): void {
    const missing = provisioning.secretsToSendAgain(connector, before, after, new Set(supplied));
    if (missing.length) throw new CredentialsRequiredError(connector.key, missing);
  }

  async function verifyOnce(caller: Caller, id: number): Promise<InstanceResult> {
    const record = await find(caller, id);
    if (provisioning.mode === "off") return present(record);
    const claim = await vendorLease.claim(caller.organizationId, id);
    if ("gone" in claim) throw new NotFoundError(`There is no instance ${id}`);
    if (!claim.claimed) throw new VerifyTooSoonError(Math.max(1, Math.ceil((claim.heldUntil - Date.now()) / 1000)));
    try {
      // Read again under the lease: a check or a change that ended just before it is seen.
      const current = await find(caller, id);
      const connector = registry.require(current.connectorKey);
      const changes = await provisioning.verify(connector, current, { ...current.configuration, ...openSecrets(current) });
      return await writeCheck(caller, current, changes);
    } finally {
      await vendorLease.coolDown(id);
    }
  }

  /**
   * Writes what a check found over the instance it checked; when another writer got in between,
   * over the new version as long as the credentials stayed, else the check is moot (the change
   * checked them itself) and the instance is answered as it now is. Never asks the vendor again.
   */
  async function writeCheck(caller: Caller, checked: InstanceRecord, changes: InstanceChanges): Promise<InstanceResult> {
    let current = checked;
    for (let attempt = 1; attempt <= maxUpdateAttempts; attempt++) {
      const intent = events.intent(validityEvent(current, changes) ?? "instance.updated", presentForEvent);
      const outcome = await store.update(caller.organizationId, current.id, current.version, changes, intent);
      if (outcome === "not-found") throw new NotFoundError(`There is no instance ${current.id}`);
      if (outcome !== "version-mismatch") {
        events.committed(intent);
        return present(outcome);
      }
      current = await find(caller, current.id);
      if (credentialBasis(current) !== credentialBasis(checked)) return present(current);
    }
    throw new WriteConflictError();
  }

  /**
   * The answer to a retried create. The first answer, token included, only while the instance is
   * as it was created; once it has changed (its token may have been rotated), its current state
   * without a token; once it is deleted, a 409 that says so. A replay never hands out a token
   * that may have been revoked.
   */
  async function replay(caller: Caller, first: InstanceResult): Promise<InstanceResult> {
    const current = await store.get(caller.organizationId, first.instance.id);
    if (!current) throw new IdempotentInstanceDeletedError(first.instance.id);
    return etagOf(current) === first.etag ? first : present(current);
  }

  return {
    async create(caller: Caller, body: CreateInstanceBody, idempotencyKey: string | undefined): Promise<InstanceResult> {
      checkNotificationTarget(body.your_mom.key, body.configuration);
      await events.checkCallbackUrl(body.configuration);
      // The body passed the spec's validator: it is one connector's create request.
      const connector = registry.require(body.your_mom.key);
      const { clear, sealedSecrets, secretKeys } = seal(connector, caller.organizationId, body.configuration);
      // Before anything is stored: refused or unreachable, nothing is created (and a retry under
      // the same Idempotency-Key, which was not kept, checks again).
      const provisioned = await provisioning.forCreate(connector, caller.organizationId, body.configuration);
      const token = newToken();
      const eventSigningSecret = events.newSigningSecret();
      const intent = events.intent("instance.created", (record) => instanceBody(record, connector, secretKeys), eventSigningSecret);
      const created = {
        organizationId: caller.organizationId,
        connectorKey: connector.key,
        name: body.name,
        tags: body.tags ?? [],
        configuration: clear,
        sealedSecrets,
        secretKeys,
        tokenHash: hashSecret(token),
        createdAt: new Date().toISOString(),
        ...provisioned,
      };
      const result = (record: InstanceRecord): InstanceResult => ({
        instance: { ...instanceBody(record, connector, secretKeys, token), eventSigningSecret },
        etag: etagOf(record),
      });
      if (idempotencyKey === undefined) {
        const outcome = await store.create(created, undefined, intent);
        events.committed(intent);
        if ("created" in outcome) return result(outcome.created);
        throw new Error("a create without an idempotency key cannot be a replay");
      }

      const requestHash = createHash("sha256")
        .update(stringify(body) ?? "")
        .digest("base64url");
      const context = idempotencyContext(caller.organizationId, idempotencyKey);
      const outcome = await store.create(
        created,
        {
          key: idempotencyKey,
          requestHash,
          expiredBefore: new Date(Date.now() - idempotencyKeyTtlSeconds * 1000).toISOString(),
          sealResponse: (record) => secretBox.seal(JSON.stringify(result(record)), context),
        },
        intent,
      );
      if ("created" in outcome) {
        events.committed(intent);
        return result(outcome.created);
      }
      if (outcome.replay.requestHash !== requestHash) throw new IdempotencyKeyReusedError();
      return replay(caller, JSON.parse(secretBox.open(outcome.replay.sealedResponse, context)) as InstanceResult);
    },

    /** Forgets the idempotency keys older than their time to live. */
    async pruneIdempotencyKeys(now = Date.now()): Promise<number> {
      return store.pruneIdempotencyKeys(new Date(now - idempotencyKeyTtlSeconds * 1000).toISOString());
    },

    async list(caller: Caller, request: ListRequest): Promise<{ instances: InstanceBody[]; nextPage: string | undefined }> {
      if (request.connectorKey !== undefined) registry.require(request.connectorKey);
      const afterId = decodeCursor(request.nextPage, request);
      const records = await store.list({
        organizationId: caller.organizationId,
        tags: request.tags,
        connectorKey: request.connectorKey,
        afterId,
        limit: request.pageSize + 1,
      });
      const page = records.slice(0, request.pageSize);
      const last = page.at(-1);
      return {
        instances: page.map((record) => present(record).instance),
        nextPage: records.length > request.pageSize && last ? encodeCursor(last.id, request) : undefined,
      };
    },

    async get(caller: Caller, id: number): Promise<InstanceResult> {
      return present(await find(caller, id));
    },

    async update(caller: Caller, id: number, patch: UpdateInstanceRequest, ifMatch: string | undefined): Promise<InstanceResult> {
      const held: number[] = [];
      try {
        return await updateHolding(held, caller, id, patch, ifMatch);
      } finally {
        await coolDown(held);
      }
    },

    async replace(caller: Caller, id: number, body: CreateInstanceBody, ifMatch: string | undefined): Promise<InstanceResult> {
      const held: number[] = [];
      try {
        return await replaceHolding(held, caller, id, body, ifMatch);
      } finally {
        await coolDown(held);
      }
    },

    async remove(caller: Caller, id: number, ifMatch: string | undefined): Promise<void> {
      let expectedVersion: number | undefined;
      if (ifMatch !== undefined) {
        const record = await find(caller, id);
        checkIfMatch(ifMatch, record);
        expectedVersion = record.version;
      }
      const intent = events.intent("instance.deleted", presentForEvent);
      const outcome = await store.delete(caller.organizationId, id, expectedVersion, intent);
      if (outcome === "not-found") throw new NotFoundError(`There is no instance ${id}`);
      if (outcome === "version-mismatch")
        throw new PreconditionFailedError("The instance changed while this request was being applied; read it again");
      events.committed(intent);
    },

    rotateToken(caller: Caller, id: number): Promise<InstanceResult> {
      const token = newToken();
      const eventSigningSecret = events.newSigningSecret();
      return write(caller, id, undefined, () => ({ tokenHash: hashSecret(token) }), { token, eventSigningSecret });
    },

    /**
     * Checks the credentials again now; the outcome, refused or unreachable included, is the
     * instance's state. At most one call to the vendor per instance is in flight: verifies at
     * once on this replica share it; one while another replica's check or a refresh runs, or
     * sooner than the shortest interval after the last check, is a 429 with Retry-After.
     */
    verify(caller: Caller, id: number): Promise<InstanceResult> {
      const key = `${caller.organizationId}:${id}`;
      let running = verifying.get(key);
      if (!running) {
        running = verifyOnce(caller, id).finally(() => verifying.delete(key));
        verifying.set(key, running);
      }
      return running;
    },
    /**
     * Refreshes the vendor's tokens of one instance whose refresh is due (the refresher claimed
     * it). A write in between that re-provisioned the instance wins: this refresh is dropped.
     * Returns whether the instance is valid after it, or undefined when it was gone or changed.
     */
    async refreshTokens(organizationId: number, id: number): Promise<boolean | undefined> {
      const record = await store.get(organizationId, id);
      if (!record) return undefined;
      const connector = registry.require(record.connectorKey);
      const changes = await provisioning.refresh(connector, record, { ...record.configuration, ...openSecrets(record) });
      if (!changes) return undefined;
      // Only over the state this refresh started from: the tokens it renewed replace those.
      let current: InstanceRecord | undefined = record;
      for (let attempt = 1; attempt <= maxUpdateAttempts; attempt++) {
        const validity = validityEvent(current, changes);
        const intent = validity && events.intent(validity, presentForEvent);
        const outcome = await store.update(organizationId, id, current.version, changes, intent);
        if (outcome === "not-found") return undefined;
        if (outcome !== "version-mismatch") {
          events.committed(intent);
          return present(outcome).instance.valid;
        }
        current = await store.get(organizationId, id);
        if (!current || current.provisioning !== record.provisioning) return undefined;
      }
      return undefined;
    },
  };
}
