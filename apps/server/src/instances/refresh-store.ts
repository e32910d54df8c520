// Where due token refreshes are found and claimed. A refresh is due when its instance's
// refresh_due_at has passed; a replica claims it by writing its name and the end of a lease, so
// that no other replica takes it until the lease ends (a replica killed mid-refresh loses its
// claims when their leases run out). A replica that stops cleanly releases its claims at once.
// The same lease covers a credential check asked for with POST /instances/{id}/verify, so that at
// most one call to the vendor is in flight per instance, on any replica; after a check the lease
// is held on a little longer, as the instance's shortest interval between two checks.
import type { ClaimFairnessUnderWay } from "../database/claim-fairness.js";

export interface DueRefresh {
  organizationId: number;
  id: number;
}

export interface RefreshStore {
  /**
   * Claims up to `limit` refreshes due at `now` that nobody holds, for `owner`, until `now + leaseMs`:
   * shared round-robin across organizations (each organization's earliest first, at most
   * `fairness.perOrganization` of one less what it has under way), none of the organizations in
   * `fairness.skip`.
   */
  claimDue(owner: string, now: number, leaseMs: number, limit: number, fairness?: ClaimFairnessUnderWay): Promise<DueRefresh[]>;
  /** Gives one claim of `owner`'s back. */
  release(owner: string, id: number): Promise<void>;
  /** Gives every claim of `owner`'s back; how many there were. */
  releaseAll(owner: string): Promise<number>;
  /**
   * Claims one instance for `owner` until `now + leaseMs`, due or not, unless another claim
   * holds it: then when that claim ends. `gone` when there is no such instance.
   */
  claimOne(owner: string, organizationId: number, id: number, now: number, leaseMs: number): Promise<OneClaim>;
  /** Holds `owner`'s claim on an instance until `until` (a cool-down), or releases it when `until` is null. */
  holdUntil(owner: string, id: number, until: number | null): Promise<void>;
}

export type OneClaim = { claimed: true } | { claimed: false; heldUntil: number } | { claimed: false; gone: true };
