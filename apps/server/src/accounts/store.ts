// Where organizations and users are kept: only the hashes of their secrets.
export interface Caller {
  organizationId: number;
  userId: number;
}

export interface AccountStore {
  createAccount(input: { organizationName: string; organizationSecretHash: Buffer; userSecretHash: Buffer }): Promise<Caller>;
  /** The user with this secret hash, in the organization with that one. */
  findCaller(userSecretHash: Buffer, organizationSecretHash: Buffer): Promise<(Caller & { userSecretHash: Buffer; organizationSecretHash: Buffer }) | undefined>;
  countOrganizations(): Promise<number>;
}
