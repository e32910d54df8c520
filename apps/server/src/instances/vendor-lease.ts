// The lease a credential check asked for with POST /instances/{id}/verify takes on its instance:
// the refresher's claim (refresh-store.ts), so that a check and a refresh never run at once, on
// any replica. After the check the lease is held on for the shortest interval between two checks,
// so that a tenant cannot make the server call a vendor faster than that.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { VerifyTooSoonError } from "./errors.js";
import type { OneClaim, RefreshStore } from "./refresh-store.js";

export interface VendorLease {
  /** Takes the instance's lease for one check, or says when the lease that holds it ends. */
  claim(organizationId: number, id: number): Promise<OneClaim>;
  /** Ends the lease after a check: held on for the shortest interval between checks. */
  coolDown(id: number): Promise<void>;
  /** That shortest interval (0: none). */
  readonly minIntervalMs: number;
}

export interface VendorLeaseOptions {
  store: RefreshStore;
  /** Longer than one check can take (the vendor's timeout), so that none runs twice at once. */
  leaseMs: number;
  /** The shortest interval between two checks of one instance; 0 for none. */
  minIntervalMs: number;
  now?: () => number;
}

export function vendorLease({ store, leaseMs, minIntervalMs, now = Date.now }: VendorLeaseOptions): VendorLease {
  const owner = `verify:${hostname()}:${process.pid}:${randomUUID()}`;
  return {
    claim: (organizationId, id) => store.claimOne(owner, organizationId, id, now(), leaseMs),
    coolDown: (id) => store.holdUntil(owner, id, minIntervalMs > 0 ? now() + minIntervalMs : null),
    minIntervalMs,
  };
}

/**
 * Takes the instance's lease for a call to the vendor, or refuses: gone (404), or held by a check
 * under way or one just made (429, with when to come back).
 */
export async function claimVendor(lease: VendorLease, organizationId: number, id: number): Promise<"claimed" | "gone"> {
  const claim = await lease.claim(organizationId, id);
  if ("gone" in claim) return "gone";
  if (!claim.claimed) throw new VerifyTooSoonError(Math.max(1, Math.ceil((claim.heldUntil - Date.now()) / 1000)));
  return "claimed";
}
