// The background refresher: every poll it claims the token refreshes that are due (on any
// replica, each is claimed by one), runs them a few at a time and gives each claim back when it
// is done. The due times live in the database, so a restart, a kill -9 or another replica picks
// up where this one left off. Stopping waits for the refreshes under way and releases every claim.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { RefreshStore } from "./refresh-store.js";

export interface RefresherOptions {
  store: RefreshStore;
  /** Refreshes one instance's tokens; whether it is valid after, or undefined when there was nothing to do. */
  refresh: (organizationId: number, id: number) => Promise<boolean | undefined>;
  logger: Logger;
  /** How often due refreshes are looked for. */
  pollMs: number;
  /** How long a claim holds: longer than a refresh can take (the vendor's timeout), so none runs twice at once. */
  leaseMs: number;
  /** How many refreshes are claimed (and run at once) per poll. */
  batch?: number;
  now?: () => number;
}

export interface Refresher {
  /** The name this replica's claims carry. */
  owner: string;
  /** Looks for due refreshes and runs them; resolves when they are done. */
  runDue(): Promise<number>;
  /** Stops polling, waits for the refreshes under way, releases every claim. */
  stop(): Promise<void>;
}

export function startRefresher({ store, refresh, logger, pollMs, leaseMs, batch = 8, now = Date.now }: RefresherOptions): Refresher {
  const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
  let running: Promise<number> | undefined;
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
    await store
      .release(owner, id)
      .catch((error: unknown) => logger.warn({ err: error, instanceId: id }, "could not release a refresh claim"));
  }

  async function round(): Promise<number> {
    const due = await store.claimDue(owner, now(), leaseMs, batch);
    await Promise.all(due.map(({ organizationId, id }) => refreshOne(organizationId, id)));
    return due.length;
  }

  function runDue(): Promise<number> {
    running ??= round().finally(() => (running = undefined));
    return running;
  }

  const timer = setInterval(() => {
    if (!stopped) runDue().catch((error: unknown) => logger.warn({ err: error }, "could not look for due token refreshes; trying again"));
  }, pollMs);
  timer.unref();

  return {
    owner,
    runDue,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
      const released = await store.releaseAll(owner).catch(() => 0);
      if (released) logger.info({ released }, "released token refresh claims");
    },
  };
}
