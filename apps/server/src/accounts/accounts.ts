// Accounts: creating an organization with its first user, and knowing the caller from the
// `Authorization: User <secret>, Organization <secret>` header.
import { UnauthorizedError } from "../errors.js";
import { hashSecret, newSecret, sameHash } from "../secrets/tokens.js";
import type { AccountStore, Caller } from "./store.js";

export interface NewAccount {
  organization: string;
  organizationSecret: string;
  userSecret: string;
  /** The ready `Authorization` header value. */
  authorization: string;
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
    account: { organization, organizationSecret, userSecret, authorization: authorizationHeader(userSecret, organizationSecret) },
  };
}

export async function createAccount(store: AccountStore, organization: string): Promise<NewAccount> {
  const { hashes, account } = newAccount(organization);
  await store.createAccount(hashes);
  return account;
}

/** The default account of an empty database, or undefined when there is an organization already. */
export async function createFirstAccount(store: AccountStore, organization: string): Promise<NewAccount | undefined> {
  const { hashes, account } = newAccount(organization);
  return (await store.createFirstAccount(hashes)) ? account : undefined;
}

// The seeds' form, with any spacing around the comma: `User <secret>, Organization <secret>`.
const headerForm = /^\s*User\s+([^\s,]+)\s*,\s*Organization\s+([^\s,]+)\s*$/;

/**
 * A short memory of headers that authenticated, keyed by the SHA-256 of the header: a repeated
 * caller costs one hash instead of two and a database lookup. Only successes are kept, for a few
 * seconds (accounts cannot be deleted or their secrets changed through this API, so nothing
 * stale can be let in), and at most so many.
 */
export class AuthenticationCache {
  private readonly entries = new Map<string, { caller: Caller; until: number }>();

  constructor(
    private readonly ttlMilliseconds = 10_000,
    private readonly capacity = 10_000,
  ) {}

  get(key: string, now = Date.now()): Caller | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.caller;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, caller: Caller, now = Date.now()): void {
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { caller, until: now + this.ttlMilliseconds });
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
