// The query planners' statistics, kept up to date by the server itself: gathered at start and then
// every STATISTICS_INTERVAL_SECONDS where many rows changed since they were last gathered
// (Storage.gatherStatistics: SQLite's PRAGMA optimize, ANALYZE on PostgreSQL). Plans that depend
// on them (which index a list walks) are then made from what the tables hold now. A failed round
// (the database away for a moment) is logged and tried again at the next.
import type { Logger } from "pino";

export function gatherStatisticsPeriodically(gather: () => Promise<void>, intervalMs: number, logger: Logger): () => void {
  const round = () => {
    gather().catch((error: unknown) => logger.warn({ err: error }, "could not gather the query planner's statistics; trying again later"));
  };
  round();
  const timer = setInterval(round, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
