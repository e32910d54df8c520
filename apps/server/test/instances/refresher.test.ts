// The refresher is fair: one organization whose vendor hangs holds at most its share of the
// refreshes under way, and another organization's due refresh runs at once, not after the slowest
// of a batch. Driven over an in-memory store double (the store's own round-robin is pinned by the
// store contract suite on both databases).
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { startRefresher, type RefresherOptions } from "../../src/instances/refresher.js";
import type { ClaimFairness } from "../../src/database/claim-fairness.js";
import type { DueRefresh, RefreshStore } from "../../src/instances/refresh-store.js";
import { until } from "../support/until.js";

/** Due refreshes in memory, claimed round-robin by organization as the SQL stores do. */
function memoryStore(due: DueRefresh[]): RefreshStore & { claimed: Set<number>; calls: { claims: number; releases: number[] } } {
  const claimed = new Set<number>();
  const calls = { claims: 0, releases: [] as number[] };
  return {
    claimed,
    calls,
    claimDue: (_owner, _now, _leaseMs, limit, fairness?: ClaimFairness) => {
      calls.claims += 1;
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
      calls.releases.push(id);
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

/** A refresher over `store` that looks for due refreshes only when asked (runDue) or as refreshes end. */
const refresherOver = (store: RefreshStore, options: Pick<RefresherOptions, "refresh" | "concurrency" | "perOrganization">) =>
  startRefresher({ store, logger: pino({ level: "silent" }), tickMs: 3_600_000, leaseMs: 60_000, ...options });

describe("the refresher", () => {
  it("runs another organization's refresh at once while one organization's vendor hangs (fixed: it waited for the batch)", async () => {
    // Thirty of the hanging organization's refreshes come first; one of the other's after them.
    const due: DueRefresh[] = Array.from({ length: 30 }, (_, i) => ({ organizationId: 1, id: i + 1 }));
    due.push({ organizationId: 2, id: 100 });
    const store = memoryStore(due);
    const hanging: (() => void)[] = [];
    const done: number[] = [];
    const refresher = refresherOver(store, {
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

  it("gives a claim back itself only when the refresh wrote nothing: a refresh's own write gives it back", async () => {
    const store = memoryStore([
      { organizationId: 1, id: 1 },
      { organizationId: 1, id: 2 },
    ]);
    const owners: string[] = [];
    const refresher = refresherOver(store, {
      concurrency: 8,
      perOrganization: 8,
      refresh: (_organizationId, id, owner) => {
        owners.push(owner);
        return Promise.resolve(id === 1 ? true : undefined); // 2: gone or changed meanwhile, nothing written
      },
    });
    try {
      expect(await refresher.runDue()).toBe(2);
      expect(owners).toEqual([refresher.owner, refresher.owner]);
      expect(store.calls.releases).toEqual([2]);
    } finally {
      await refresher.stop();
    }
  });

  it("claims again once an eighth of its slots are free, not each time a refresh ends", async () => {
    // Twenty organizations of five due refreshes each; 32 slots, so a claim once 4 are free.
    const due: DueRefresh[] = Array.from({ length: 100 }, (_, i) => ({ organizationId: (i % 20) + 1, id: i + 1 }));
    const store = memoryStore(due);
    const running = new Map<number, () => void>();
    const refresher = refresherOver(store, {
      concurrency: 32,
      perOrganization: 4,
      refresh: (_organizationId, id) => new Promise((resolve) => running.set(id, () => resolve(true))),
    });
    const finish = async (count: number) => {
      for (const id of [...running.keys()].slice(0, count)) {
        running.get(id)!();
        running.delete(id);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    };
    try {
      void refresher.runDue();
      await until(() => (running.size === 32 ? true : undefined), 5);
      const claims = store.calls.claims;
      await finish(1);
      await finish(1);
      await finish(1);
      expect(store.calls.claims).toBe(claims);
      expect(running.size).toBe(29);
      await finish(1);
      expect(store.calls.claims).toBeGreaterThan(claims);
      expect(running.size).toBe(32);
    } finally {
      for (const resolve of running.values()) resolve();
      await refresher.stop();
    }
  });
});
