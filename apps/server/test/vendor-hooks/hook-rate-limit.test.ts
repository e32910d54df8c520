// The receiving URLs' per-instance limit (vendor-hooks/hook-rate-limit.ts): `perMinute` posts in
// a window, then the wait until it ends; each instance counted apart; a new window after a minute.
import { describe, expect, it } from "vitest";
import { hookRateLimit } from "../../src/vendor-hooks/hook-rate-limit.js";

describe("the receiving URLs' rate limit", () => {
  it("takes perMinute posts of an instance a minute, then says how long to wait", () => {
    const limit = hookRateLimit(3);
    const at = 1_000_000;
    expect([0, 1, 2].map((n) => limit.take(7, at + n))).toEqual([undefined, undefined, undefined]);
    expect(limit.take(7, at + 20_000)).toBe(40);
    expect(limit.take(7, at + 59_500)).toBe(1);
    expect(limit.take(8, at + 20_000)).toBeUndefined(); // another instance: its own count
    expect(limit.take(7, at + 60_001)).toBeUndefined(); // a new window
  });
});
