// The loop of a background claimer of due rows (token refreshes, vendor polls): on every replica,
// it claims the rows that are due (each by one replica, under a lease) and runs them, up to
// `concurrency` at once and at most `perOrganization` of one organization's, claiming again as
// slots free up rather than waiting for the slowest of a batch (one tenant whose vendor hangs
// holds a few slots, never the others' work), and every tick for what came due meanwhile. One
// round of claims at a time: a claim asked for during a round is that round. The due times live in
// the database, so a restart, a kill -9 or another replica picks up where this one left off;
// stopping waits for the round and the work under way, then gives back every claim.
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { ClaimFairnessUnderWay } from "./claim-fairness.js";
import { sharesUnderWay } from "./shares-under-way.js";

/** A claimed row: an instance's (its token refresh, its poll). */
export interface ClaimedInstance {
  organizationId: number;
  id: number;
}

/** What a claimer of due rows is set with, whatever it claims (the refresher's, the poller's options). */
export interface ClaimerSettings {
  logger: Logger;
  /** How often due rows are looked for (besides as runs end). */
  tickMs: number;
  /** How long a claim holds: longer than a run can take, so none runs twice at once. */
  leaseMs: number;
  /** Runs under way at once on this replica. */
  concurrency: number;
  /** Of those, at most this many of one organization's. */
  perOrganization: number;
  now?: () => number;
}

export interface ClaimLoopOptions<Row extends ClaimedInstance> extends Pick<
  ClaimerSettings,
  "logger" | "tickMs" | "concurrency" | "perOrganization"
> {
  /** What is claimed, as the logs say it: "token refreshes", "polls". */
  what: string;
  /**
   * A run that ends claims again once this many slots are free (1: as each ends): where a claim
   * costs about as much as a run's own write, claims come in batches.
   */
  claimBatch: number;
  /** Work done before each round of claims (the poller schedules the instances that changed). */
  beforeRound?: () => Promise<void>;
  /** Claims up to `limit` due rows, shared as `fairness` says. */
  claim(limit: number, fairness: ClaimFairnessUnderWay): Promise<Row[]>;
  /** Runs one claimed row. What it rejects with is logged, and its claim runs out. */
  run(row: Row): Promise<void>;
  /** Gives back a row claimed past its organization's share (a store that counts what is under way claims none). */
  giveBack(row: Row): Promise<void>;
  /** Gives back every claim of this replica's; how many there were. */
  releaseAll(): Promise<number>;
}

export interface ClaimLoop {
  /** Claims what is due and there is room for, and resolves when those runs are done; how many. */
  runDue(): Promise<number>;
  /** Stops claiming, waits for the round and the runs under way, gives back every claim. */
  stop(): Promise<void>;
}

/** The name a replica's claims carry: unique to this process and this claimer. */
export const claimOwner = () => `${hostname()}:${process.pid}:${randomUUID()}`;

export function claimLoop<Row extends ClaimedInstance>(options: ClaimLoopOptions<Row>): ClaimLoop {
  const { what, logger, concurrency, claimBatch } = options;
  const underWay = new Set<Promise<void>>();
  const shares = sharesUnderWay(options.perOrganization);
  let round: Promise<Promise<void>[]> | undefined;
  let stopped = false;

  function start(row: Row): Promise<void> {
    shares.add(row.organizationId);
    const running = options
      .run(row)
      .catch((error: unknown) => logger.warn({ err: error, instanceId: row.id }, `could not finish one of the ${what}; its claim runs out`))
      .finally(() => {
        underWay.delete(running);
        shares.remove(row.organizationId);
        // Its slot is free: the next due rows take the free slots once there are enough of them.
        if (!stopped && concurrency - underWay.size >= claimBatch) void claim().catch(warn);
      });
    underWay.add(running);
    return running;
  }

  /** Claims as many due rows as there is room for, round after round while each fills up; the runs started. */
  async function claimRounds(): Promise<Promise<void>[]> {
    await options.beforeRound?.();
    const started: Promise<void>[] = [];
    for (;;) {
      const room = concurrency - underWay.size;
      if (stopped || room <= 0) return started;
      const due = await options.claim(room, { perOrganization: options.perOrganization, skip: shares.full(), underWay: shares.counts() });
      for (const row of due) {
        if (shares.isFull(row.organizationId)) await options.giveBack(row);
        else started.push(start(row));
      }
      // Fewer than there was room for: nothing else is due now.
      if (due.length < room) return started;
    }
  }

  function claim(): Promise<Promise<void>[]> {
    round ??= claimRounds().finally(() => (round = undefined));
    return round;
  }

  const warn = (error: unknown) => logger.warn({ err: error }, `could not look for due ${what}; trying again`);
  const timer = setInterval(() => {
    if (!stopped) void claim().catch(warn);
  }, options.tickMs);
  timer.unref();

  return {
    async runDue() {
      const started = await claim();
      await Promise.all(started);
      return started.length;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      // Its end, not its outcome: a failure is logged by the tick that asked for the round, or is runDue's.
      if (round)
        await round.then(
          () => undefined,
          () => undefined,
        );
      await Promise.allSettled([...underWay]);
      const released = await options.releaseAll().catch(() => 0);
      if (released) logger.info({ released }, `released the claims of its ${what}`);
    },
  };
}
