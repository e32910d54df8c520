// What the event tests share: delivery timings short enough for retries to happen within a test
// (with generous bounds on every wait for them), and the two stores each runs on.
import { startPostgresCluster } from "@instances-api/postgres-cluster";
import { defaultEventDelivery, type EventDeliveryConfig, type StorageConfig } from "../../src/config.js";

export const shortEventWaits: EventDeliveryConfig = {
  ...defaultEventDelivery,
  deliveryTimeoutMs: 1_500,
  firstRetryMs: 300,
  retryHorizonSeconds: 600,
  pollIntervalMs: 100,
};

/** SQLite (the harness's default) and a throwaway PostgreSQL cluster, for `describe.each`. */
export const bothStores: [string, () => Promise<{ storage?: StorageConfig; stop: () => Promise<void> }>][] = [
  ["SQLite", () => Promise.resolve({ stop: () => Promise.resolve() })],
  [
    "PostgreSQL",
    async () => {
      const cluster = await startPostgresCluster();
      return { storage: { kind: "postgres", url: cluster.url }, stop: () => Promise.resolve(cluster.stop()) };
    },
  ],
];
