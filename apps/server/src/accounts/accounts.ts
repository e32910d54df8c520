// Accounts: creating an organization with its first user, listing them, rotating their secrets,
// and knowing the caller from the `Authorization: User <secret>, Organization <secret>` header
// (with `, Element <instance token>` after it, the caller's instance too).
import { UnauthorizedError } from "../errors.js";
import { hashSecret, newSecret, sameHash } from "../secrets/tokens.js";
import { DuplicateOrganizationNameError, UnknownOrganizationError } from "./errors.js";
import type { AccountStore, Caller, InstanceTokenStore, OrganizationSummary } from "./store.js";

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

// The seeds' form, with any spacing around the commas: `User <secret>, Organization <secret>`,
// and Cloud Elements' form, which names one of the organization's instances by its token:
// `User <secret>, Organization <secret>, Element <instance token>`.
const headerForm = /^(\s*User\s+([^\s,]+)\s*,\s*Organization\s+([^\s,]+)\s*)(?:,\s*Element\s+([^\s,]+)\s*)?$/;

/** What an Authorization header carries: the account's secrets and, in the Element form, an instance token. */
export interface Credentials {
  /** The header's account part (all before `, Element`), exactly as sent: the account cache's key. */
  accountPart: string;
  userSecret: string;
  organizationSecret: string;
  instanceToken?: string;
}

/** The header's credentials, or undefined when it is missing or not in one of the two forms. */
export function parseAuthorization(header: string | undefined): Credentials | undefined {
  const [, accountPart, userSecret, organizationSecret, instanceToken] = headerForm.exec(header ?? "") ?? [];
  if (!accountPart || !userSecret || !organizationSecret) return undefined;
  const account = { accountPart, userSecret, organizationSecret };
  return instanceToken === undefined ? account : { ...account, instanceToken };
}

/**
 * How long a server may go on letting in a header that authenticated, after its secrets were
 * rotated (by `instances-api accounts rotate`, in another process): the cache below keeps a
 * success this long, counted from the start of the lookup that found it, so from before the
 * rotation at the latest. docs/security-and-limits.md states this bound.
 */
export const authenticationCacheTtlMilliseconds = 10_000;

/**
 * A short memory of accounts that authenticated, keyed by the SHA-256 of the header's account
 * part: a repeated caller costs one hash instead of two and a database lookup. The Element part
 * is never kept here (authentication.ts says why). Only successes are kept, for
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

/**
 * The key under which an account is remembered: the SHA-256 of the header's account part as sent
 * (so that a spelling the server has not seen is looked up in the database: after a rotation,
 * refused at once), never of the Element part, which is not cached.
 */
export function authenticationCacheKey({ accountPart }: Credentials): string {
  return hashSecret(accountPart).toString("base64");
}

/**
 * The account the credentials name, or UnauthorizedError: for a missing or malformed header, the
 * form it must have; for one in form, that its secrets name no account, in the same words
 * whichever secret is wrong. Secrets are compared as hashes, in constant time.
 */
export async function lookUpCaller(store: AccountStore, credentials: Credentials | undefined): Promise<Caller> {
  if (!credentials) throw new UnauthorizedError();
  const userHash = hashSecret(credentials.userSecret);
  const organizationHash = hashSecret(credentials.organizationSecret);
  const found = await store.findCaller(userHash, organizationHash);
  if (!found || !sameHash(found.userSecretHash, userHash) || !sameHash(found.organizationSecretHash, organizationHash)) {
    throw new UnauthorizedError("The user and organization secrets do not match an account");
  }
  return { organizationId: found.organizationId, userId: found.userId };
}

/**
 * The id of the caller's instance whose token this is, or UnauthorizedError: a wrong token, one
 * rotated away, a deleted instance's and another organization's instance's all read the same, so
 * that a 401 never tells whether a token exists elsewhere. One indexed read of the token's hash,
 * within the caller's organization, then compared in constant time.
 */
export async function lookUpInstanceToken(store: InstanceTokenStore, caller: Caller, instanceToken: string): Promise<number> {
  const tokenHash = hashSecret(instanceToken);
  const found = await store.findByTokenHash(caller.organizationId, tokenHash);
  if (!found || !sameHash(found.tokenHash, tokenHash)) {
    throw new UnauthorizedError("The Element token is not valid: it names no instance of this organization");
  }
  return found.id;
}
