// What the polling tests share: a poller that looks for due polls every 100 ms and polls an instance
// as often as once a second (POLLER_INTERVAL_FLOOR_MS; 5 s in production), so a test waits a
// second, not five, for each poll it needs. Each file adds the limits it tests.
import { defaultPoller, type PollerConfig } from "../../src/config.js";

export const quickPolls: Readonly<PollerConfig> = Object.freeze({
  ...defaultPoller,
  tickMs: 100,
  leaseMs: 30_000,
  concurrency: 4,
  perOrganization: 2,
  recordMaxBytes: 4096,
  backoffMaxMs: 20_000,
  intervalFloorMs: 1_000,
});
