// The last proxied calls of each instance, and how many there were, kept in this replica's memory
// and read with GET /instances/{id}/proxy-calls. Not in the instance's provisionInteractions:
// those are the durable history of its credentials, written with the instance's row, and a
// proxied call must neither cost a database write nor change the instance's version (its ETag),
// which every write does. So they are per replica and gone at a restart; the log line of each
// call (request-logging) is the durable record.

export interface ProxiedCall {
  at: string;
  method: string;
  /** The vendor's host and path; never the query, a header or a body. */
  host: string;
  path: string;
  /** The vendor's status, or null when none came (unreachable, timed out). */
  status: number | null;
  /** `answered` (the vendor's answer was passed on), or why not. */
  outcome: "answered" | "unreachable" | "timeout" | "refused" | "aborted" | "too-large" | "simulated";
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
  /** True when the call was retried once after a token refresh. */
  retried: boolean;
}

export interface CallCount {
  total: number;
  calls: ProxiedCall[];
}

export function recentCalls({ perInstance = 20, instances = 10_000 } = {}) {
  // A Map iterates in insertion order: re-inserting on each call keeps the least recent first.
  const byInstance = new Map<string, CallCount>();
  return {
    record(organizationId: number, instanceId: number, call: ProxiedCall): void {
      const key = `${organizationId}:${instanceId}`;
      const entry = byInstance.get(key) ?? { total: 0, calls: [] };
      byInstance.delete(key);
      entry.total++;
      entry.calls.push(call);
      if (entry.calls.length > perInstance) entry.calls.shift();
      byInstance.set(key, entry);
      if (byInstance.size > instances) byInstance.delete(byInstance.keys().next().value!);
    },
    read(organizationId: number, instanceId: number): CallCount {
      const entry = byInstance.get(`${organizationId}:${instanceId}`);
      return { total: entry?.total ?? 0, calls: [...(entry?.calls ?? [])].reverse() };
    },
    forget(organizationId: number, instanceId: number): void {
      byInstance.delete(`${organizationId}:${instanceId}`);
    },
  };
}

export type RecentCalls = ReturnType<typeof recentCalls>;
