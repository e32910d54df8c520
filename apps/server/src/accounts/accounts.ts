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
    hashes: { organizationName: organization, organizationSecretHash: hashSecret(organizationSecret), userSecretHash: hashSecret(userSecret) },
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

/** The caller the header names, or UnauthorizedError. Secrets are compared as hashes, in constant time. */
export async function authenticate(store: AccountStore, header: string | undefined): Promise<Caller> {
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
