// Where due token refreshes are found and claimed. A refresh is due when its instance's
// refresh_due_at has passed; a replica claims it by writing its name and the end of a lease, so
// that no other replica takes it until the lease ends (a replica killed mid-refresh loses its
// claims when their leases run out). A replica that stops cleanly releases its claims at once.
export interface DueRefresh {
  organizationId: number;
  id: number;
}

export interface RefreshStore {
  /** Claims up to `limit` refreshes due at `now` that nobody holds, for `owner`, until `now + leaseMs`. */
  claimDue(owner: string, now: number, leaseMs: number, limit: number): Promise<DueRefresh[]>;
  /** Gives one claim of `owner`'s back. */
  release(owner: string, id: number): Promise<void>;
  /** Gives every claim of `owner`'s back; how many there were. */
  releaseAll(owner: string): Promise<number>;
}
