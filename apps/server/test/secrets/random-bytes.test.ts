import { describe, expect, it } from "vitest";
import { randomBytes } from "../../src/secrets/random-bytes.js";

describe("randomBytes (pooled)", () => {
  it("hands out buffers of the size asked, never a view of the pool", () => {
    const a = randomBytes(32);
    expect(a).toHaveLength(32);
    const before = Buffer.from(a);
    randomBytes(4096); // larger than the pool's share: made on its own
    for (let i = 0; i < 300; i++) randomBytes(24); // refills the pool under `a`
    expect(a).toEqual(before);
  });

  it("never hands out the same bytes twice, across many refills of the pool", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) seen.add(randomBytes(12).toString("hex"));
    expect(seen.size).toBe(20_000);
  });

  it("looks random: every byte value appears, none far more than its share", () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4_000; i++) for (const byte of randomBytes(32)) counts[byte]!++;
    // 128,000 bytes: 500 per value on average; a stuck or zeroed pool would show at once.
    expect(Math.min(...counts)).toBeGreaterThan(350);
    expect(Math.max(...counts)).toBeLessThan(650);
  });

  it("makes zero bytes, and refuses a size that is not a count", () => {
    expect(randomBytes(0)).toHaveLength(0);
    expect(() => randomBytes(-1)).toThrow(RangeError);
    expect(() => randomBytes(1.5)).toThrow(RangeError);
  });
});
