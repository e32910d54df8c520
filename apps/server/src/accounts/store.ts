// Where organizations and users are kept: only the hashes of their secrets.
export interface Caller {
  organizationId: number;
  userId: number;
}

export interface NewAccountHashes {
  organizationName: string;
  organizationSecretHash: Buffer;
  userSecretHash: Buffer;
}

export interface AccountStore {
  createAccount(input: NewAccountHashes): Promise<Caller>;
  /** Creates the account only if there is no organization yet (atomically: replicas may race). */
  createFirstAccount(input: NewAccountHashes): Promise<Caller | undefined>;
  /** The user with this secret hash, in the organization with that one. */
  findCaller(
    userSecretHash: Buffer,
    organizationSecretHash: Buffer,
  ): Promise<(Caller & { userSecretHash: Buffer; organizationSecretHash: Buffer }) | undefined>;
}
