// The test events' limit: at most one per instance a second, at most five pending; a wait says
// which bound holds the next one back and for about how long.
import { describe, expect, it } from "vitest";
import { testEventLimit, testEventWait, type TestEventsSoFar, type TestEventWait } from "../../src/events/test-events.js";

const now = 1_000_000;
const none: TestEventsSoFar = { pending: 0, newestAt: null, nextAttemptAt: null };

describe("the test events' limit", () => {
  it("is one a second and five pending", () => {
    expect(testEventLimit).toEqual({ intervalMs: 1_000, pendingAtMost: 5 });
  });

  it.each<[string, { given: TestEventsSoFar; want: TestEventWait | undefined }]>([
    ["lets the first one through", { given: none, want: undefined }],
    [
      "lets one through a second after the last",
      { given: { ...none, pending: 1, newestAt: now - 1_000, nextAttemptAt: now }, want: undefined },
    ],
    [
      "lets one through while four are pending",
      { given: { pending: 4, newestAt: now - 5_000, nextAttemptAt: now + 9_000 }, want: undefined },
    ],
    [
      "holds one back within a second of the last, until the second is over",
      { given: { ...none, pending: 0, newestAt: now - 300 }, want: { reason: "interval", waitMs: 700 } },
    ],
    [
      "holds one back while five are pending, until the soonest of them is attempted again",
      { given: { pending: 5, newestAt: now - 60_000, nextAttemptAt: now + 45_000 }, want: { reason: "pending", waitMs: 45_000 } },
    ],
    [
      "holds one back while five are pending and one of them is due (being sent): no wait to speak of",
      { given: { pending: 5, newestAt: now - 60_000, nextAttemptAt: now - 10 }, want: { reason: "pending", waitMs: 0 } },
    ],
    [
      "waits no longer than a second for a newest one stamped ahead of this clock (another replica's)",
      { given: { ...none, pending: 1, newestAt: now + 5_000, nextAttemptAt: now + 5_000 }, want: { reason: "interval", waitMs: 1_000 } },
    ],
  ])("%s", (_name, { given, want }) => {
    expect(testEventWait(given, testEventLimit, now)).toEqual(want);
  });
});
