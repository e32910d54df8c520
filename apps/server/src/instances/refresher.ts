// The background refresher: it claims the token refreshes that are due (on any replica, each is
// claimed by one) and runs them, up to `concurrency` at once and at most `perOrganization` of one
// organization's, claiming again as slots free up rather than waiting for the slowest of a batch:
// one tenant whose vendor hangs holds a few slots for its timeout, never the others' refreshes.
// Claims are shared round-robin across organizations (the store's claimDue), and come in batches:
// a claim is made once a few slots are free, not for each one (a claim costs about as much as a
// refresh's own write). A refresh's write gives its claim back. The due times live in the
// database, so a restart, a kill -9 or another replica picks up where this one left off.
// Stopping waits for the refreshes under way and releases every claim.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { DueRefresh, RefreshStore } from "./refresh-store.js";

export interface RefresherOptions {
  store: RefreshStore;
  /**
   * Refreshes one instance's tokens, its write giving `owner`'s claim back: whether the instance
   * is valid after, or undefined when nothing was written (the refresher then gives it back).
   */
  refresh: (organizationId: number, id: number, owner: string) => Promise<boolean | undefined>;
  logger: Logger;
  /** How often due refreshes are looked for (besides as refreshes finish). */
  pollMs: number;
  /** How long a claim holds: longer than a refresh can take (the vendor's timeout), so none runs twice at once. */
  leaseMs: number;
  /** Refreshes under way at once on this replica. */
  concurrency: number;
  /** Of those, at most this many of one organization's. */
  perOrganization: number;
  now?: () => number;
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
  const { store, refresh, logger, pollMs, leaseMs, concurrency, perOrganization, now = Date.now } = options;
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  // A finished refresh claims again once this many slots are free: an eighth of them.
  const claimBatch = Math.max(1, Math.floor(concurrency / 8));
  const underWay = new Set<Promise<void>>();
  const byOrganization = new Map<number, number>();
  let claiming: Promise<Promise<void>[]> | undefined;
  let stopped = false;

  async function refreshOne(organizationId: number, id: number): Promise<void> {
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

  function start({ organizationId, id }: DueRefresh): Promise<void> {
    byOrganization.set(organizationId, (byOrganization.get(organizationId) ?? 0) + 1);
    const running = refreshOne(organizationId, id).finally(() => {
      underWay.delete(running);
      const left = (byOrganization.get(organizationId) ?? 1) - 1;
      if (left > 0) byOrganization.set(organizationId, left);
      else byOrganization.delete(organizationId);
      // Its slot is free: the next due refreshes take the free slots once there are enough of them.
      if (!stopped && concurrency - underWay.size >= claimBatch) void claim().catch(warnClaim);
    });
    underWay.add(running);
    return running;
  }

  /** Claims as many due refreshes as there is room for, round after round while each fills up; the ones started. */
  async function claimRounds(): Promise<Promise<void>[]> {
    const started: Promise<void>[] = [];
    for (;;) {
      const room = concurrency - underWay.size;
      if (stopped || room <= 0) return started;
      const taken = [...byOrganization];
      const full = taken.filter(([, count]) => count >= perOrganization).map(([organizationId]) => organizationId);
      const due = await store.claimDue(owner, now(), leaseMs, room, { perOrganization, skip: full, underWay: taken });
      for (const claim of due) {
        // The store counts what is under way (taken); should a row still bring its organization past its share, it goes back.
        if ((byOrganization.get(claim.organizationId) ?? 0) >= perOrganization) await release(claim.id);
        else started.push(start(claim));
      }
      // Fewer than there was room for: nothing else is due now.
      if (due.length < room) return started;
    }
  }

  function claim(): Promise<Promise<void>[]> {
    claiming ??= claimRounds().finally(() => (claiming = undefined));
    return claiming;
  }

  const warnClaim = (error: unknown) => logger.warn({ err: error }, "could not look for due token refreshes; trying again");

  const timer = setInterval(() => {
    if (!stopped) void claim().catch(warnClaim);
  }, pollMs);
  timer.unref();

  return {
    owner,
    async runDue() {
      const started = await claim();
      await Promise.all(started);
      return started.length;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (claiming)
        await claiming.then(
          () => undefined,
          () => undefined,
        );
      await Promise.allSettled([...underWay]);
      const released = await store.releaseAll(owner).catch(() => 0);
      if (released) logger.info({ released }, "released token refresh claims");
    },
  };
}
