// Where organizations and users are kept: only the hashes of their secrets. And what authentication
// needs of the instances' store to know the instance an `Element` token names.
export interface Caller {
  organizationId: number;
  userId: number;
  /**
   * The instance the Authorization header's `Element <instance token>` part names, when it has
   * one (authentication sets it; no account store does).
   */
  instanceId?: number;
}

export interface NewAccountHashes {
  organizationName: string;
  organizationSecretHash: Buffer;
  userSecretHash: Buffer;
}

/** An organization as `accounts list` shows it: never a secret, nor a hash of one. */
export interface OrganizationSummary {
  id: number;
  name: string;
  createdAt: string;
  users: { id: number; createdAt: string }[];
}

export interface AccountStore {
  createAccount(input: NewAccountHashes): Promise<Caller>;
  /**
   * Creates the account unless an organization has that name already (atomically: two creates
   * of one name at once make one organization); otherwise the existing organization's id.
   */
  createUniquelyNamedAccount(input: NewAccountHashes): Promise<{ created: Caller } | { existingOrganizationId: number }>;
  /** Creates the account only if there is no organization yet (atomically: replicas may race). */
  createFirstAccount(input: NewAccountHashes): Promise<Caller | undefined>;
  /** The user with this secret hash, in the organization with that one. */
  findCaller(
    userSecretHash: Buffer,
    organizationSecretHash: Buffer,
  ): Promise<(Caller & { userSecretHash: Buffer; organizationSecretHash: Buffer }) | undefined>;
  /** Every organization with its users, oldest first. */
  listOrganizations(): Promise<OrganizationSummary[]>;
  /**
   * Replaces, in one transaction, the organization's secret hash and each of its users' (the hash
   * `userSecretHash` gives for the user's id): the old secrets no longer find a caller once it
   * returns. Undefined when there is no such organization.
   */
  rotateSecrets(
    organizationId: number,
    organizationSecretHash: Buffer,
    userSecretHash: (userId: number) => Buffer,
  ): Promise<{ organizationName: string; userIds: number[] } | undefined>;
}

/**
 * Where an instance is found by the hash of its token, within one organization: the instances'
 * store, with one indexed read. Only the instance's id and the hash it holds come back.
 */
export interface InstanceTokenStore {
  findByTokenHash(organizationId: number, tokenHash: Buffer): Promise<{ id: number; tokenHash: Buffer } | undefined>;
}
