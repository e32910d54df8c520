// Expired Idempotency-Keys are forgotten as they are met (a create under one claims it anew);
// this removes the rest, so that the table holds about one time-to-live's worth of keys. Runs at
// start and then every half time-to-live (at most every ten minutes). A failed round (the
// database away for a moment) is logged and tried again at the next.
import type { Logger } from "pino";
import type { InstanceStore } from "./store.js";

export function pruneIdempotencyKeysPeriodically(store: InstanceStore, ttlSeconds: number, logger: Logger): () => void {
  const round = () => {
    store.pruneIdempotencyKeys(new Date(Date.now() - ttlSeconds * 1000).toISOString()).then(
      (pruned) => {
        if (pruned > 0) logger.info({ pruned }, "forgot expired idempotency keys");
      },
      (error: unknown) => logger.warn({ err: error }, "could not prune idempotency keys; trying again later"),
    );
  };
  round();
  const timer = setInterval(round, Math.min(ttlSeconds * 500, 600_000));
  timer.unref();
  return () => clearInterval(timer);
}
