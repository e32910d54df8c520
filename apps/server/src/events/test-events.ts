// How often an instance may be sent a test event (POST /instances/{id}/events/test): at most one a
// second, and at most five of them pending at once, so that a tenant can flood neither its
// receiver (or whatever its callback URL names) nor the outbox with them. A pending test event
// is retried for 24 hours like any other, hence the second bound: at one a second alone, a
// receiver that is down would let an instance pile up 86,400 of them a day. Decided here once for
// both databases, pure; each writer reads what it needs in the transaction that would record the
// event, with the instance's row locked, so that replicas answering at once cannot both pass.

export interface TestEventLimit {
  /** At most one test event per instance in this many milliseconds. */
  intervalMs: number;
  /** At most this many of an instance's test events pending (neither delivered, failed nor dropped). */
  pendingAtMost: number;
}

export const testEventLimit: Readonly<TestEventLimit> = Object.freeze({ intervalMs: 1_000, pendingAtMost: 5 });

/** An instance's test events so far, as the limit reads them (times in ms since the epoch). */
export interface TestEventsSoFar {
  pending: number;
  /** When the newest was recorded, or null for none. */
  newestAt: number | null;
  /** The soonest next attempt of the pending ones, or null for none. */
  nextAttemptAt: number | null;
}

/** Why another test event is held back, and for about how long (ms). */
export interface TestEventWait {
  reason: "interval" | "pending";
  waitMs: number;
}

/** The wait before the instance's next test event, or undefined when one may be recorded at `now`. */
export function testEventWait(soFar: TestEventsSoFar, limit: TestEventLimit, now: number): TestEventWait | undefined {
  // Until one of them is attempted again (it may be delivered then); due ones are being sent now.
  if (soFar.pending >= limit.pendingAtMost) return { reason: "pending", waitMs: Math.max(0, (soFar.nextAttemptAt ?? now) - now) };
  if (soFar.newestAt === null || now - soFar.newestAt >= limit.intervalMs) return undefined;
  // Never longer than the interval, should another replica's clock run ahead of this one.
  return { reason: "interval", waitMs: Math.min(limit.intervalMs, soFar.newestAt + limit.intervalMs - now) };
}
