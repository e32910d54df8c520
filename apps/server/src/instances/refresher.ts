// The background refresher: it claims the token refreshes that are due (on any replica, each is
// claimed by one) and runs them, up to `concurrency` at once and at most `perOrganization` of one
// organization's, claiming again as soon as one finishes rather than waiting for the slowest of a
// batch: one tenant whose vendor hangs holds a few slots for its timeout, never the others'
// refreshes. Claims are shared round-robin across organizations (the store's claimDue). The due
// times live in the database, so a restart, a kill -9 or another replica picks up where this one
// left off. Stopping waits for the refreshes under way and releases every claim.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { DueRefresh, RefreshStore } from "./refresh-store.js";

export interface RefresherOptions {
  store: RefreshStore;
  /** Refreshes one instance's tokens; whether it is valid after, or undefined when there was nothing to do. */
  refresh: (organizationId: number, id: number) => Promise<boolean | undefined>;
  logger: Logger;
  /** How often due refreshes are looked for (besides after each one that finishes). */
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
  const underWay = new Set<Promise<void>>();
  const byOrganization = new Map<number, number>();
  let claiming: Promise<Promise<void>[]> | undefined;
  let stopped = false;

  async function refreshOne(organizationId: number, id: number): Promise<void> {
    try {
      const valid = await refresh(organizationId, id);
      if (valid === false) logger.warn({ instanceId: id }, "the vendor's tokens could not be refreshed: the instance is invalid");
      else if (valid) logger.info({ instanceId: id }, "refreshed the vendor's tokens");
    } catch (error) {
      logger.warn({ err: error, instanceId: id }, "a token refresh failed; it is tried again when its claim ends");
      return; // the claim stays until its lease ends: a retry a lease later, not at once
    }
    await release(id);
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
      if (!stopped) void claim().catch(warnClaim); // its slot is free: the next due refresh may take it
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
      const full = [...byOrganization].filter(([, count]) => count >= perOrganization).map(([organizationId]) => organizationId);
      const due = await store.claimDue(owner, now(), leaseMs, room, { perOrganization, skip: full });
      for (const claim of due) {
        // A claim may bring an organization past its share of what is under way: its extra rows go back.
        if ((byOrganization.get(claim.organizationId) ?? 0) >= perOrganization) await release(claim.id);
        else started.push(start(claim));
      }
      // Fewer than there was room for: nothing else is due, unless an organization just reached its
      // share and was skipped no further (then the others' may be waiting behind its rows).
      const nowFull = [...byOrganization.values()].filter((count) => count >= perOrganization).length;
      if (due.length < room && nowFull === full.length) return started;
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
