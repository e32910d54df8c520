// The refresher is fair: one organization whose vendor hangs holds at most its share of the
// refreshes under way, and another organization's due refresh runs at once, not after the slowest
// of a batch. Driven over an in-memory store double (the store's own round-robin is pinned by the
// store contract suite on both databases).
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startRefresher } from "../../src/instances/refresher.js";
import type { ClaimFairness, DueRefresh, RefreshStore } from "../../src/instances/refresh-store.js";
import { until } from "../support/until.js";

/** Due refreshes in memory, claimed round-robin by organization as the SQL stores do. */
function memoryStore(due: DueRefresh[]): RefreshStore & { claimed: Set<number> } {
  const claimed = new Set<number>();
  return {
    claimed,
    claimDue: (_owner, _now, _leaseMs, limit, fairness?: ClaimFairness) => {
      const perOrganization = fairness?.perOrganization ?? Infinity;
      const turns = new Map<number, number>();
      const picked = due
        .filter((d) => !claimed.has(d.id) && !(fairness?.skip ?? []).includes(d.organizationId))
        .map((d) => {
          const turn = (turns.get(d.organizationId) ?? 0) + 1;
          turns.set(d.organizationId, turn);
          return { d, turn };
        })
        .filter(({ turn }) => turn <= perOrganization)
        .sort((a, b) => a.turn - b.turn)
        .slice(0, limit)
        .map(({ d }) => d);
      for (const d of picked) claimed.add(d.id);
      return Promise.resolve(picked);
    },
    release: (_owner, id) => {
      claimed.delete(id);
      due.splice(
        due.findIndex((d) => d.id === id),
        1,
      );
      return Promise.resolve();
    },
    releaseAll: () => Promise.resolve(0),
    claimOne: () => Promise.resolve({ claimed: true }),
    holdUntil: () => Promise.resolve(),
  };
}

describe("the refresher", () => {
  it("runs another organization's refresh at once while one organization's vendor hangs (fixed: it waited for the batch)", async () => {
    // Thirty of the hanging organization's refreshes come first; one of the other's after them.
    const due: DueRefresh[] = Array.from({ length: 30 }, (_, i) => ({ organizationId: 1, id: i + 1 }));
    due.push({ organizationId: 2, id: 100 });
    const store = memoryStore(due);
    const hanging: (() => void)[] = [];
    const done: number[] = [];
    const refresher = startRefresher({
      store,
      logger: pino({ level: "silent" }),
      pollMs: 3_600_000,
      leaseMs: 60_000,
      concurrency: 8,
      perOrganization: 3,
      refresh: (organizationId, id) =>
        organizationId === 1
          ? new Promise((resolve) => hanging.push(() => resolve(true)))
          : Promise.resolve(true).finally(() => done.push(id)),
    });
    try {
      void refresher.runDue();
      await until(() => (done.includes(100) ? true : undefined), 5);
      // The hanging organization holds its share and no more.
      expect(hanging.length).toBe(3);
    } finally {
      for (const resolve of hanging) resolve();
      await refresher.stop();
    }
  });
});
