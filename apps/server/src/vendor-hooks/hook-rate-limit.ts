// How many posts an instance's receiving URL takes a minute, per replica: a fixed window per
// instance, counted in memory (as the proxy's in-flight counts are). A vendor that posts in a
// loop, or someone who learned the URL, cannot fill the outbox faster than this.
export interface HookRateLimit {
  /** Counts a post of `instanceId` at `now`; the seconds to wait when it is over the limit, else undefined. */
  take(instanceId: number, now?: number): number | undefined;
}

/** Windows kept at most: past this, those that have ended are forgotten. */
const windowsKept = 10_000;

export function hookRateLimit(perMinute: number): HookRateLimit {
  const windows = new Map<number, { start: number; count: number }>();
  return {
    take(instanceId, now = Date.now()) {
      if (windows.size >= windowsKept) for (const [id, window] of windows) if (now - window.start >= 60_000) windows.delete(id);
      const window = windows.get(instanceId);
      if (window === undefined || now - window.start >= 60_000) {
        windows.set(instanceId, { start: now, count: 1 });
        return undefined;
      }
      window.count += 1;
      return window.count > perMinute ? Math.max(1, Math.ceil((window.start + 60_000 - now) / 1000)) : undefined;
    },
  };
}
