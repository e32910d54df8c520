// The server's rounds of statistics: one at start, then one every interval, a failed one logged
// and the next tried all the same, none after stop.
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { gatherStatisticsPeriodically } from "../../src/database/statistics.js";

afterEach(() => vi.useRealTimers());

describe("gathering statistics periodically", () => {
  it("gathers at start and every interval, goes on after a failed round, and stops when told", async () => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) });
    let rounds = 0;
    const gather = () => (++rounds === 2 ? Promise.reject(new Error("the database is away")) : Promise.resolve());
    const stop = gatherStatisticsPeriodically(gather, 60_000, logger);
    expect(rounds).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(rounds).toBe(2);
    expect(warnings.join("")).toContain("could not gather the query planner's statistics");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(rounds).toBe(3);
    stop();
    await vi.advanceTimersByTimeAsync(180_000);
    expect(rounds).toBe(3);
  });
});
