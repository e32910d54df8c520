// Accounts: creating an organization with its first user, listing them, rotating their secrets,
// and knowing the caller from the `Authorization: User <secret>, Organization <secret>` header.
import { UnauthorizedError } from "../errors.js";
import { hashSecret, newSecret, sameHash } from "../secrets/tokens.js";
import { DuplicateOrganizationNameError, UnknownOrganizationError } from "./errors.js";
import type { AccountStore, Caller, OrganizationSummary } from "./store.js";

export interface NewAccount {
  organizationId: number;
  organization: string;
  organizationSecret: string;
  userId: number;
  userSecret: string;
  /** The ready `Authorization` header value. */
  authorization: string;
}

/** An organization's secrets after a rotation: the new ones, shown this once. */
export interface RotatedAccount {
  organizationId: number;
  organization: string;
  organizationSecret: string;
  users: { userId: number; userSecret: string; authorization: string }[];
}

export function authorizationHeader(userSecret: string, organizationSecret: string): string {
  return `User ${userSecret}, Organization ${organizationSecret}`;
}

function newAccount(organization: string) {
  const organizationSecret = newSecret();
  const userSecret = newSecret();
  return {
    hashes: {
      organizationName: organization,
      organizationSecretHash: hashSecret(organizationSecret),
      userSecretHash: hashSecret(userSecret),
    },
    account: (caller: Caller): NewAccount => ({
      organizationId: caller.organizationId,
      organization,
      organizationSecret,
      userId: caller.userId,
      userSecret,
      authorization: authorizationHeader(userSecret, organizationSecret),
    }),
  };
}

/**
 * Creates an organization with its first user. A name an organization has already is refused
 * (DuplicateOrganizationNameError: running the same command twice makes one organization) unless
 * `allowDuplicate`.
 */
export async function createAccount(
  store: AccountStore,
  organization: string,
  { allowDuplicate = false }: { allowDuplicate?: boolean } = {},
): Promise<NewAccount> {
  const { hashes, account } = newAccount(organization);
  if (allowDuplicate) return account(await store.createAccount(hashes));
  const outcome = await store.createUniquelyNamedAccount(hashes);
  if ("existingOrganizationId" in outcome) throw new DuplicateOrganizationNameError(organization, outcome.existingOrganizationId);
  return account(outcome.created);
}

/** The default account of an empty database, or undefined when there is an organization already. */
export async function createFirstAccount(store: AccountStore, organization: string): Promise<NewAccount | undefined> {
  const { hashes, account } = newAccount(organization);
  const caller = await store.createFirstAccount(hashes);
  return caller && account(caller);
}

/** Every organization and its users: ids, names and creation times, never a secret. */
export async function listAccounts(store: AccountStore): Promise<{ organizations: OrganizationSummary[] }> {
  return { organizations: await store.listOrganizations() };
}

/**
 * New secrets for the organization and each of its users. The old ones find no caller once this
 * returns; a server that authenticated them shortly before may let them in from its cache for at
 * most `authenticationCacheTtlMilliseconds` after that.
 */
export async function rotateAccountSecrets(store: AccountStore, organizationId: number): Promise<RotatedAccount> {
  const organizationSecret = newSecret();
  const userSecrets = new Map<number, string>();
  const rotated = await store.rotateSecrets(organizationId, hashSecret(organizationSecret), (userId) => {
    const userSecret = newSecret();
    userSecrets.set(userId, userSecret);
    return hashSecret(userSecret);
  });
  if (!rotated) throw new UnknownOrganizationError(organizationId);
  return {
    organizationId,
    organization: rotated.organizationName,
    organizationSecret,
    users: rotated.userIds.map((userId) => {
      const userSecret = userSecrets.get(userId)!;
      return { userId, userSecret, authorization: authorizationHeader(userSecret, organizationSecret) };
    }),
  };
}

// The seeds' form, with any spacing around the comma: `User <secret>, Organization <secret>`.
const headerForm = /^\s*User\s+([^\s,]+)\s*,\s*Organization\s+([^\s,]+)\s*$/;

/**
 * How long a server may go on letting in a header that authenticated, after its secrets were
 * rotated (by `instances-api accounts rotate`, in another process): the cache below keeps a
 * success this long, counted from the start of the lookup that found it, so from before the
 * rotation at the latest. The README states this bound.
 */
export const authenticationCacheTtlMilliseconds = 10_000;

/**
 * A short memory of headers that authenticated, keyed by the SHA-256 of the header: a repeated
 * caller costs one hash instead of two and a database lookup. Only successes are kept, for
 * `authenticationCacheTtlMilliseconds` from the lookup's start (so a secret rotated meanwhile is
 * let in no longer than that after its rotation), and at most so many.
 */
export class AuthenticationCache {
  private readonly entries = new Map<string, { caller: Caller; until: number }>();

  constructor(
    private readonly ttlMilliseconds = authenticationCacheTtlMilliseconds,
    private readonly capacity = 10_000,
  ) {}

  get(key: string, now = Date.now()): Caller | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.caller;
    this.entries.delete(key);
    return undefined;
  }

  /** Remembers a caller found by a lookup that started at `lookedUpSince`: until `ttlMilliseconds` after that. */
  set(key: string, caller: Caller, lookedUpSince = Date.now()): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { caller, until: lookedUpSince + this.ttlMilliseconds });
  }
}

/** The key under which a header's caller is remembered: the header's SHA-256. */
export function authenticationCacheKey(header: string): string {
  return hashSecret(header).toString("base64");
}

/** The caller the header names, or UnauthorizedError. Secrets are compared as hashes, in constant time. */
export async function lookUpCaller(store: AccountStore, header: string | undefined): Promise<Caller> {
  const [, userSecret, organizationSecret] = headerForm.exec(header ?? "") ?? [];
  if (!userSecret || !organizationSecret) throw new UnauthorizedError();
  const userHash = hashSecret(userSecret);
  const organizationHash = hashSecret(organizationSecret);
  const found = await store.findCaller(userHash, organizationHash);
  if (!found || !sameHash(found.userSecretHash, userHash) || !sameHash(found.organizationSecretHash, organizationHash)) {
    throw new UnauthorizedError("The user and organization secrets do not match an account");
  }
  return { organizationId: found.organizationId, userId: found.userId };
}
