// The background poller: on every replica, each tick works out the schedule of the instances that
// are new or changed (polled or not, and from when), then claims the polls that are due (each by
// one replica, under a lease) and runs them, up to `concurrency` at once and at most
// `perOrganization` of one organization's, claimed round-robin across organizations. A poll that
// fails is tried again later, backing off (or after the vendor's Retry-After); one that stopped at
// its page limit is due again at once. The due times and checkpoints live in the database, so a
// restart, a kill -9 or another replica picks up where this one left off.
import type { ConnectorEvents } from "@instances-api/spec-tools";
import { claimLoop, claimOwner, type ClaimerSettings } from "../database/claim-loop.js";
import { pollerSettings } from "../instances/poller-settings.js";
import type { DuePoll, PollStore, UnscheduledInstance } from "./poll-store.js";
import type { PollOutcome } from "./poll-instance.js";

export interface PollerOptions extends ClaimerSettings {
  store: PollStore;
  /** A connector's events and platform entries and defaults, by key (undefined: no such connector). */
  connector: (key: string) => { events: ConnectorEvents; base: Record<string, string | null> } | undefined;
  poll: (owner: string, due: DuePoll) => Promise<PollOutcome>;
  /** The dispatcher is told when a poll enqueued events. */
  onEnqueued: () => void;
  /** The longest wait after polls that failed in a row. */
  backoffMaxMs: number;
}

export interface Poller {
  owner: string;
  /** Schedules what changed, claims what is due and there is room for; resolves when those polls are done; how many. */
  runDue(): Promise<number>;
  /** Stops, waits for the polls under way, releases every claim. */
  stop(): Promise<void>;
}

/** Instances scheduled per round. */
const scheduleBatch = 200;

export function startPoller(options: PollerOptions): Poller {
  const { store, logger, leaseMs, now = Date.now } = options;
  const owner = claimOwner();

  async function scheduleChanged(): Promise<void> {
    for (;;) {
      const batch = await store.unscheduled(scheduleBatch);
      // At once: SQLite writes them in one transaction of its group commit.
      await Promise.all(batch.map((instance) => store.schedule(instance, polled(instance), startOf(instance), now())));
      if (batch.length < scheduleBatch) return;
    }
  }

  function polled(instance: UnscheduledInstance): boolean {
    const connector = options.connector(instance.connectorKey);
    if (!connector) return false;
    const stored = JSON.parse(instance.configuration) as Record<string, string>;
    return pollerSettings(connector.events, { ...connector.base, ...stored }).polled;
  }

  /** From when changes are sent: the instance's creation, or the change that turned polling on. */
  const startOf = (instance: UnscheduledInstance) => Date.parse(instance.known ? instance.updatedAt : instance.createdAt);

  async function pollOne(due: DuePoll): Promise<void> {
    let outcome: PollOutcome;
    try {
      outcome = await options.poll(owner, due);
    } catch (error) {
      logger.warn({ err: error, instanceId: due.id }, "a poll of the vendor failed; it is tried again later");
      outcome = { kind: "failed", intervalMs: 60_000, why: (error as Error).message, enqueued: false };
    }
    if ("enqueued" in outcome && outcome.enqueued) options.onEnqueued();
    const at = now();
    switch (outcome.kind) {
      case "gone":
        return store.forget(due.id);
      case "not-polled":
        return store.finish(owner, due.id, at + leaseMs, due.failures);
      case "invalid":
        return store.finish(owner, due.id, at + outcome.intervalMs, due.failures);
      case "stale":
        // Due again at once: the next round schedules the instance's new version first (a claim
        // another replica took over is not this one's to end).
        return store.finish(owner, due.id, at, due.failures);
      case "polled":
        if (outcome.events > 0) logger.info({ instanceId: due.id, events: outcome.events }, "polled the vendor: changes found");
        return store.finish(owner, due.id, outcome.more ? at : at + outcome.intervalMs, 0);
      case "failed": {
        const failures = due.failures + 1;
        // Never sooner than the interval, never later than the longest wait, whatever the
        // vendor's Retry-After says (a year, or 1e300 seconds, would stop the polls for good).
        const backoff = Math.max(outcome.intervalMs, Math.min(options.backoffMaxMs, outcome.intervalMs * 2 ** Math.min(failures, 10)));
        const retryAfter = Math.min(options.backoffMaxMs, outcome.retryAfterMs ?? 0);
        logger.warn({ instanceId: due.id, failures, why: outcome.why }, "a poll of the vendor failed; backing off");
        return store.finish(owner, due.id, at + Math.max(backoff, retryAfter), failures);
      }
    }
  }

  const loop = claimLoop<DuePoll>({
    ...options,
    what: "polls",
    claimBatch: 1,
    beforeRound: scheduleChanged,
    claim: (limit, fairness) => store.claimDue(owner, now(), leaseMs, limit, fairness),
    run: pollOne,
    // Past its organization's share: due again at once, for the next round.
    giveBack: (due) => store.finish(owner, due.id, now(), due.failures),
    releaseAll: () => store.releaseAll(owner),
  });
  return { owner, ...loop };
}
