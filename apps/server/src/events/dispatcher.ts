// The background dispatcher: after a write commits (and every poll interval, for what other
// replicas wrote or what a crash left), it claims due deliveries with a lease and sends each one,
// signed with each signing secret the instance had in the last 24 hours, through the outbound
// sender. Each delivery runs on its own, so a receiver that hangs holds back only its own
// instance's later events, until the sender's timeout cuts it. What an attempt came to (delivered,
// retried with backoff until the horizon, or ended) is attempt-outcome.ts's to decide; a replica
// that dies mid-attempt leaves a lease that runs out, and the attempt is made again.
// Not the refreshes' and polls' claim loop (database/claim-loop.ts): the delivery claim does not
// count what is under way, so a round takes one delivery of each organization and the next round
// follows while one took any; a cue after a commit runs a round after the one under way instead of
// joining it (whose read may predate the commit); and a claim ends with its attempt's record, with
// nothing to release at stop.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { sharesUnderWay } from "../database/shares-under-way.js";
import { cut } from "../errors.js";
import type { OutboundSend } from "../outbound/outbound.js";
import { sealingContexts } from "../secrets/contexts.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { attemptOutcome, type AttemptResult } from "./attempt-outcome.js";
import { secretsSigning, type AttemptOutcome, type Delivery, type EventStore } from "./outbox.js";
import type { RetryPolicy } from "./retry-schedule.js";
import { webhookSignatures } from "./signing-secret.js";

export interface DispatcherOptions {
  store: EventStore;
  send: OutboundSend;
  secretBox: SecretBox;
  logger: Logger;
  retry: RetryPolicy;
  /** How long a receiver has to answer. */
  deliveryTimeoutMs: number;
  /** How often to look for due deliveries besides the cues after each write. */
  pollIntervalMs: number;
  /** Deliveries in flight at once, across instances. */
  concurrency: number;
  /** Of those, at most this many of one organization's: a tenant whose receivers hang holds no more. */
  perOrganization: number;
}

export interface Dispatcher {
  /** Starts claiming: at once (what is due since before this start), then every poll interval. */
  start(): void;
  /** Look for due deliveries now (after a commit); nothing before start(). */
  nudge(): void;
  /** Stops claiming, and waits for the attempts in flight. */
  stop(): Promise<void>;
}

// A lease outlives the attempt it covers (the sender's timeout) by this much.
const leaseMarginMs = 5_000;
// Settled deliveries are listed for this long after their event, then forgotten (checked hourly).
export const settledDeliveriesKeptMs = 30 * 24 * 3_600_000;
const pruneEveryMs = 3_600_000;

export function eventDispatcher(options: DispatcherOptions): Dispatcher {
  const { store, send, secretBox, logger, retry, deliveryTimeoutMs, pollIntervalMs, concurrency, perOrganization } = options;
  const shares = sharesUnderWay(perOrganization);
  const owner = randomUUID();
  const inFlight = new Set<Promise<void>>();
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let pruner: NodeJS.Timeout | undefined;
  let claiming = false;
  let claimAgain = false;

  async function attempt(delivery: Delivery): Promise<{ outcome: AttemptOutcome; detail?: string }> {
    const attemptAt = Date.now();
    const context = sealingContexts.eventSigningSecret(delivery.organizationId, delivery.instanceId);
    const secrets = secretsSigning(delivery, attemptAt).map((sealed) => secretBox.open(sealed, context));
    // Each attempt is signed at its own time, so a retry passes the receiver's 5-minute rule.
    const timestamp = Math.floor(attemptAt / 1000);
    let result: AttemptResult;
    try {
      const response = await send({
        method: "POST",
        url: new URL(delivery.url),
        headers: {
          "content-type": "application/json",
          "user-agent": "instances-api-events",
          "webhook-id": delivery.webhookId,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": webhookSignatures(secrets, delivery.webhookId, timestamp, delivery.payload),
        },
        body: delivery.payload,
        timeoutMs: deliveryTimeoutMs,
      });
      result = { status: response.status };
    } catch (failure) {
      result = { failure };
    }
    const outcome = attemptOutcome(delivery, attemptAt, result, retry);
    // The operator's log keeps what the listing must not say (the host, the port, the code).
    const detail = "failure" in result ? cut(String(result.failure), 200) : undefined;
    return detail === undefined ? { outcome } : { outcome, detail };
  }

  async function deliver(delivery: Delivery): Promise<void> {
    const { outcome, detail } = await attempt(delivery);
    await store.recordAttempt(delivery.id, owner, outcome);
    const fields = {
      webhookId: delivery.webhookId,
      eventType: delivery.eventType,
      instanceId: delivery.instanceId,
      attempts: delivery.attempts + 1,
    };
    if (outcome.delivered) logger.info({ ...fields, status: outcome.status }, "event delivered");
    else if (outcome.nextAttemptAt === undefined)
      logger.warn({ ...fields, status: outcome.status, error: outcome.error, detail }, "event delivery failed; gave up");
    else
      logger.info(
        { ...fields, status: outcome.status, error: outcome.error, detail, retryAt: new Date(outcome.nextAttemptAt).toISOString() },
        "event delivery failed; will retry",
      );
  }

  function track(delivery: Delivery): void {
    const running = deliver(delivery).catch((error: unknown) =>
      // The database away: the lease runs out and the attempt is made again (at least once).
      logger.warn({ err: error, webhookId: delivery.webhookId }, "could not record an event delivery; it will be tried again"),
    );
    inFlight.add(running);
    shares.add(delivery.organizationId);
    void running.finally(() => {
      inFlight.delete(running);
      shares.remove(delivery.organizationId);
      if (!stopped) void claim(); // this instance's next event may be due now
    });
  }

  async function claim(): Promise<void> {
    if (claiming) {
      claimAgain = true;
      return;
    }
    claiming = true;
    try {
      do {
        claimAgain = false;
        const room = concurrency - inFlight.size;
        if (stopped || room <= 0) break;
        const now = Date.now();
        // One delivery of each organization per round, none of those at their share: round after
        // round until the room is full or nothing more is due.
        const fairness = { perOrganization: 1, skip: shares.full() };
        const claimed = await store.claimDue(owner, now, now + deliveryTimeoutMs + leaseMarginMs, room, fairness);
        for (const delivery of claimed) track(delivery);
        if (claimed.length > 0) claimAgain = true;
      } while (claimAgain);
    } catch (error) {
      logger.warn({ err: error }, "could not claim due event deliveries; trying again later");
    } finally {
      claiming = false;
    }
  }

  return {
    start: () => {
      stopped = false;
      logger.info({ owner }, "dispatching events");
      timer = setInterval(() => void claim(), pollIntervalMs);
      timer.unref();
      void claim(); // what is due since before this start (a crash, another replica's writes)
      const prune = () =>
        store.pruneSettled(Date.now() - settledDeliveriesKeptMs).then(
          (pruned) => pruned > 0 && logger.info({ pruned }, "forgot settled event deliveries"),
          (error: unknown) => logger.warn({ err: error }, "could not forget settled event deliveries; trying again later"),
        );
      void prune();
      pruner = setInterval(() => void prune(), pruneEveryMs);
      pruner.unref();
    },
    nudge: () => {
      if (!stopped) void claim();
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      clearInterval(pruner);
      await Promise.allSettled([...inFlight]);
    },
  };
}
