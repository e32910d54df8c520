// The retry schedule: the first retry within the first step, each step three times the last up to
// three hours, jitter between half and all of the step, and nothing past the horizon.
import { describe, expect, it } from "vitest";
import { backoffStepMs, nextAttemptAt } from "../../src/events/retry-schedule.js";

const policy = { firstRetryMs: 5_000, horizonMs: 24 * 3_600_000 };

describe("the retry schedule", () => {
  it.each([
    [1, 5_000],
    [2, 15_000],
    [3, 45_000],
    [7, 3_645_000],
    [8, 3 * 3_600_000],
    [30, 3 * 3_600_000],
  ])("after %i failed attempts steps %i ms", (failed, step) => {
    expect(backoffStepMs(failed, policy.firstRetryMs)).toBe(step);
  });

  it("retries the first failure within 5 s, between half and all of the step", () => {
    expect(nextAttemptAt(policy, 1, 0, 1_000, () => 0)).toBe(3_500);
    expect(nextAttemptAt(policy, 1, 0, 1_000, () => 0.999_999)).toBe(6_000);
  });

  it("gives up once the next attempt would come after the horizon", () => {
    const lastHour = policy.horizonMs - 3_600_000;
    expect(nextAttemptAt(policy, 2, 0, lastHour, () => 1)).toBe(lastHour + 15_000);
    expect(nextAttemptAt(policy, 10, 0, lastHour, () => 0)).toBeUndefined();
  });

  it("makes about a dozen attempts within the default 24 hours", () => {
    let at = 0;
    let failed = 0;
    for (let next: number | undefined = 0; next !== undefined; failed++) {
      at = next;
      next = nextAttemptAt(policy, failed + 1, 0, at, () => 1);
    }
    expect(failed).toBeGreaterThanOrEqual(10);
    expect(failed).toBeLessThanOrEqual(15);
    expect(at).toBeLessThanOrEqual(policy.horizonMs);
  });
});
