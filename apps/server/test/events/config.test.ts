// The event delivery settings: defaults as documented, each one read from its variable, and a
// bad value stops the start naming it.
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";

describe("event delivery settings", () => {
  it("default to a 10 s timeout, a first retry within 5 s, 24 h of retries, a look every second, 16 in flight, 4 of one organization, 1,000 pending per instance", () => {
    expect(readConfig({}).events).toEqual({
      deliveryTimeoutMs: 10_000,
      firstRetryMs: 5_000,
      retryHorizonSeconds: 86_400,
      pollIntervalMs: 1_000,
      concurrency: 16,
      perOrganization: 4,
      maxPendingPerInstance: 1_000,
    });
  });

  it("are read from the environment", () => {
    const env = {
      EVENT_DELIVERY_TIMEOUT_MS: "1500",
      EVENT_FIRST_RETRY_MS: "300",
      EVENT_RETRY_HORIZON_SECONDS: "60",
      EVENT_POLL_INTERVAL_MS: "100",
      EVENT_CONCURRENCY: "8",
      EVENT_PER_ORGANIZATION: "2",
      EVENT_MAX_PENDING_PER_INSTANCE: "50",
    };
    expect(readConfig(env).events).toEqual({
      deliveryTimeoutMs: 1_500,
      firstRetryMs: 300,
      retryHorizonSeconds: 60,
      pollIntervalMs: 100,
      concurrency: 8,
      perOrganization: 2,
      maxPendingPerInstance: 50,
    });
  });

  it.each([
    "EVENT_DELIVERY_TIMEOUT_MS",
    "EVENT_FIRST_RETRY_MS",
    "EVENT_RETRY_HORIZON_SECONDS",
    "EVENT_POLL_INTERVAL_MS",
    "EVENT_CONCURRENCY",
    "EVENT_PER_ORGANIZATION",
    "EVENT_MAX_PENDING_PER_INSTANCE",
  ])("refuse a bad %s", (name) => {
    expect(() => readConfig({ [name]: "0" })).toThrow(new RegExp(`${name} must be a positive whole number`));
    expect(() => readConfig({ [name]: "5s" })).toThrow(new RegExp(name));
  });
});
