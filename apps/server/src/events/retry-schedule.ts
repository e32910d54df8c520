// When a failed delivery is tried again: exponential backoff with jitter, from a first retry
// within `firstRetryMs` (5 s by default), each wait three times the last, at most three hours;
// past the retry horizon (24 h after the event by default) the delivery is given up and marked
// failed. The jitter (each wait is between half and all of its step) keeps the deliveries to a
// receiver that was down from all coming back at the same moment.
const growth = 3;
const longestWaitMs = 3 * 60 * 60 * 1000;

export interface RetryPolicy {
  firstRetryMs: number;
  horizonMs: number;
}

/** The step before jitter after `failedAttempts` failures (1 for the first). */
export function backoffStepMs(failedAttempts: number, firstRetryMs: number): number {
  return Math.min(longestWaitMs, firstRetryMs * growth ** Math.max(0, failedAttempts - 1));
}

/** When to try again after a failed attempt, or undefined once that would pass the horizon. */
export function nextAttemptAt(
  policy: RetryPolicy,
  failedAttempts: number,
  createdAt: number,
  attemptAt: number,
  random: () => number = Math.random,
): number | undefined {
  const step = backoffStepMs(failedAttempts, policy.firstRetryMs);
  const next = attemptAt + Math.round(step * (0.5 + random() / 2));
  return next > createdAt + policy.horizonMs ? undefined : next;
}
