// The background refresher: it claims the token refreshes that are due (on any replica, each is
// claimed by one) and runs them, up to `concurrency` at once and at most `perOrganization` of one
// organization's, claiming again as slots free up rather than waiting for the slowest of a batch:
// one tenant whose vendor hangs holds a few slots for its timeout, never the others' refreshes.
// Claims are shared round-robin across organizations (the store's claimDue), and come in batches:
// a claim is made once a few slots are free, not for each one (a claim costs about as much as a
// refresh's own write). A refresh's write gives its claim back. The due times live in the
// database, so a restart, a kill -9 or another replica picks up where this one left off.
// Stopping waits for the refreshes under way and releases every claim.
import { claimLoop, claimOwner, type ClaimerSettings } from "../database/claim-loop.js";
import type { DueRefresh, RefreshStore } from "./refresh-store.js";

export interface RefresherOptions extends ClaimerSettings {
  store: RefreshStore;
  /**
   * Refreshes one instance's tokens, its write giving `owner`'s claim back: whether the instance
   * is valid after, or undefined when nothing was written (the refresher then gives it back).
   */
  refresh: (organizationId: number, id: number, owner: string) => Promise<boolean | undefined>;
}

export interface Refresher {
  /** The name this replica's claims carry. */
  owner: string;
  /** Claims what is due and there is room for, and resolves when those refreshes are done; how many. */
  runDue(): Promise<number>;
  /** Stops polling, waits for the refreshes under way, releases every claim. */
  stop(): Promise<void>;
}

export function startRefresher(options: RefresherOptions): Refresher {
  const { store, refresh, logger, leaseMs, now = Date.now } = options;
  const owner = claimOwner();

  async function refreshOne({ organizationId, id }: DueRefresh): Promise<void> {
    let valid: boolean | undefined;
    try {
      valid = await refresh(organizationId, id, owner);
    } catch (error) {
      logger.warn({ err: error, instanceId: id }, "a token refresh failed; it is tried again when its claim ends");
      return; // the claim stays until its lease ends: a retry a lease later, not at once
    }
    if (valid === false) logger.warn({ instanceId: id }, "the vendor's tokens could not be refreshed: the instance is invalid");
    else if (valid) logger.info({ instanceId: id }, "refreshed the vendor's tokens");
    else await release(id); // nothing written, so the claim is still held
  }

  const release = (id: number) =>
    store.release(owner, id).catch((error: unknown) => logger.warn({ err: error, instanceId: id }, "could not release a refresh claim"));

  const loop = claimLoop<DueRefresh>({
    ...options,
    what: "token refreshes",
    // An eighth of the slots: a claim costs about as much as a refresh's own write.
    claimBatch: Math.max(1, Math.floor(options.concurrency / 8)),
    claim: (limit, fairness) => store.claimDue(owner, now(), leaseMs, limit, fairness),
    run: refreshOne,
    giveBack: ({ id }) => release(id),
    releaseAll: () => store.releaseAll(owner),
  });
  return { owner, ...loop };
}
