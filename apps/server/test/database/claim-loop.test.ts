// The claim loop the refresher and the poller share (database/claim-loop.ts), driven by doubles of
// its claim and its runs: one round of claims at a time whatever the ticks, a round or a run that
// fails is logged and the loop goes on, and stopping waits for the round and the runs under way
// before it gives back every claim (never while a run could still write under its claim).
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ClaimFairnessUnderWay } from "../../src/database/claim-fairness.js";
import { claimLoop, type ClaimedInstance, type ClaimLoopOptions } from "../../src/database/claim-loop.js";
import { until } from "../support/until.js";

/** A promise and what settles it, for steps the test releases one at a time. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

const rows = (organizationId: number, ...ids: number[]): ClaimedInstance[] => ids.map((id) => ({ organizationId, id }));

/** A loop over doubles that record what it asks, in order; `overrides` replace them. */
function loopOf(overrides: Partial<ClaimLoopOptions<ClaimedInstance>> = {}) {
  const steps: string[] = [];
  const fairness: ClaimFairnessUnderWay[] = [];
  const logs: { msg: string }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) });
  const loop = claimLoop<ClaimedInstance>({
    what: "chores",
    logger,
    tickMs: 3_600_000,
    concurrency: 4,
    perOrganization: 4,
    claimBatch: 1,
    claim: (limit, asked) => {
      fairness.push(asked);
      steps.push(`claim ${limit}`);
      return Promise.resolve([]);
    },
    run: ({ id }) => {
      steps.push(`run ${id}`);
      return Promise.resolve();
    },
    giveBack: ({ id }) => {
      steps.push(`give back ${id}`);
      return Promise.resolve();
    },
    releaseAll: () => {
      steps.push("release all");
      return Promise.resolve(0);
    },
    ...overrides,
  });
  return { loop, steps, fairness, logs };
}

describe("the claim loop", () => {
  it("runs one round of claims at a time: a tick during a round starts no other claim", async () => {
    const claims: ReturnType<typeof deferred<ClaimedInstance[]>>[] = [];
    const { loop } = loopOf({
      tickMs: 10,
      claim: () => {
        claims.push(deferred<ClaimedInstance[]>());
        return claims.at(-1)!.promise;
      },
    });
    try {
      await until(() => (claims.length === 1 ? true : undefined), 5);
      // Many ticks while the claim hangs, and a runDue: all of them that one round.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const ran = loop.runDue();
      expect(claims).toHaveLength(1);
      claims[0]!.resolve([]);
      expect(await ran).toBe(0);
      // The round over, the next tick claims again.
      await until(() => (claims.length === 2 ? true : undefined), 5);
    } finally {
      for (const claim of claims) claim.resolve([]);
      await loop.stop();
    }
  });

  it("logs a round that fails and claims again at the next tick", async () => {
    let calls = 0;
    const ran: number[] = [];
    const { loop, logs } = loopOf({
      tickMs: 10,
      claim: () => (++calls === 1 ? Promise.reject(new Error("database away")) : Promise.resolve(calls === 2 ? rows(1, 7) : [])),
      run: ({ id }) => {
        ran.push(id);
        return Promise.resolve();
      },
    });
    try {
      await until(() => (ran.includes(7) ? true : undefined), 5);
      expect(logs.map((log) => log.msg)).toContain("could not look for due chores; trying again");
    } finally {
      await loop.stop();
    }
  });

  it("logs a run that fails, frees its slot and claims again", async () => {
    const claimed = [rows(1, 1), rows(1, 2), []];
    const { loop, steps, logs } = loopOf({
      concurrency: 1,
      claim: () => Promise.resolve(claimed.shift() ?? []),
      run: ({ id }) => (id === 1 ? Promise.reject(new Error("vendor away")) : Promise.resolve(void steps.push(`run ${id}`))),
    });
    try {
      expect(await loop.runDue()).toBe(1);
      await until(() => (steps.includes("run 2") ? true : undefined), 5);
      expect(logs.map((log) => log.msg)).toContain("could not finish one of the chores; its claim runs out");
    } finally {
      await loop.stop();
    }
  });

  it("asks no organization for more than its share less what is under way, and gives back a row past it", async () => {
    const claimed = [[...rows(1, 1, 2, 3), ...rows(2, 4)], []];
    const running = new Map<number, () => void>();
    const { loop, steps, fairness } = loopOf({
      concurrency: 4,
      perOrganization: 2,
      claim: (_limit, asked) => {
        fairness.push(asked);
        return Promise.resolve(claimed.shift() ?? []);
      },
      run: ({ id }) => new Promise((resolve) => running.set(id, resolve)),
    });
    try {
      void loop.runDue();
      await until(() => (fairness.length === 2 ? true : undefined), 5);
      expect(steps).toEqual(["give back 3"]);
      expect([...running.keys()]).toEqual([1, 2, 4]);
      expect(fairness).toEqual([
        { perOrganization: 2, skip: [], underWay: [] },
        {
          perOrganization: 2,
          skip: [1],
          underWay: [
            [1, 2],
            [2, 1],
          ],
        },
      ]);
    } finally {
      for (const resolve of running.values()) resolve();
      await loop.stop();
    }
  });

  it("stopped during a round, waits for it and for the runs it started, then gives back every claim", async () => {
    const claim = deferred<ClaimedInstance[]>();
    const run = deferred();
    const { loop, steps, logs } = loopOf({
      claim: () => {
        steps.push("claim");
        return claim.promise;
      },
      run: ({ id }) => {
        steps.push(`run ${id}`);
        return run.promise.then(() => void steps.push(`ran ${id}`));
      },
      releaseAll: () => {
        steps.push("release all");
        return Promise.resolve(3);
      },
    });
    void loop.runDue();
    await until(() => (steps.includes("claim") ? true : undefined), 5);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    claim.resolve(rows(1, 5));
    await until(() => (steps.includes("run 5") ? true : undefined), 5);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    run.resolve();
    await stopping;
    // No claim after the stop; the claims given back once the last run had ended.
    expect(steps).toEqual(["claim", "run 5", "ran 5", "release all"]);
    expect(logs.map((log) => log.msg)).toContain("released the claims of its chores");
  });

  it("stopped, gives back every claim even when the round failed, and claims no more at its ticks", async () => {
    const claim = deferred<ClaimedInstance[]>();
    let claims = 0;
    const { loop, steps } = loopOf({
      tickMs: 10,
      claim: () => {
        claims += 1;
        return claim.promise;
      },
    });
    await until(() => (claims === 1 ? true : undefined), 5);
    const stopping = loop.stop();
    claim.reject(new Error("database away"));
    await stopping;
    expect(steps).toEqual(["release all"]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(claims).toBe(1);
  });
});
