// The authentication cache keeps successes for a while, and no longer.
import { describe, expect, it } from "vitest";
import { AuthenticationCache } from "../../src/accounts/accounts.js";

describe("AuthenticationCache", () => {
  it("keeps a caller until its time is up", () => {
    const cache = new AuthenticationCache(1_000, 10);
    cache.set("k", { organizationId: 1, userId: 2 }, 0);
    expect(cache.get("k", 999)).toEqual({ organizationId: 1, userId: 2 });
    expect(cache.get("k", 1_000)).toBeUndefined();
    expect(cache.get("k", 0)).toBeUndefined(); // gone for good once expired
  });

  it("forgets the oldest entry past its capacity", () => {
    const cache = new AuthenticationCache(1_000, 2);
    cache.set("a", { organizationId: 1, userId: 1 }, 0);
    cache.set("b", { organizationId: 2, userId: 2 }, 0);
    cache.set("c", { organizationId: 3, userId: 3 }, 0);
    expect(cache.get("a", 1)).toBeUndefined();
    expect(cache.get("c", 1)).toEqual({ organizationId: 3, userId: 3 });
  });

  it("counts a caller's time from the start of the lookup that found it, so a rotation during the lookup is not outlived by more", () => {
    const cache = new AuthenticationCache(1_000, 10);
    cache.set("k", { organizationId: 1, userId: 2 }, 500); // the lookup started at 500 and ended later
    expect(cache.get("k", 1_499)).toEqual({ organizationId: 1, userId: 2 });
    expect(cache.get("k", 1_500)).toBeUndefined();
  });
});
