// The receiving URL's shape (vendor-hooks/hook-state.ts): a new secret carries 256 random bits in
// the one spelling the path takes back; any other path under the base path is none.
import { describe, expect, it } from "vitest";
import { newHookSecret, parseReceivingPath, receivingPath, receivingUrl } from "../../src/vendor-hooks/hook-state.js";

describe("the receiving URL", () => {
  it("holds a new 256-bit secret per call, which its path gives back with the resource", () => {
    const secrets = new Set(Array.from({ length: 100 }, () => newHookSecret()));
    expect(secrets.size).toBe(100);
    for (const secret of secrets) {
      expect(Buffer.from(secret.slice(3), "base64url")).toHaveLength(32);
      expect(parseReceivingPath(receivingPath(secret, "Contacts"))).toEqual({ secret, resource: "Contacts" });
    }
    const secret = newHookSecret();
    expect(receivingUrl("https://i.example.com", "/your_moms/api-v2", secret, "Leads")).toBe(
      `https://i.example.com/your_moms/api-v2/vendor-hooks/${secret}/Leads`,
    );
  });

  const secret = `vh_${"a".repeat(43)}`;
  it.each([
    ["no resource", `/vendor-hooks/${secret}`],
    ["a trailing slash", `/vendor-hooks/${secret}/Contacts/`],
    ["a short secret", `/vendor-hooks/vh_${"a".repeat(42)}/Contacts`],
    ["a long secret", `/vendor-hooks/vh_${"a".repeat(44)}/Contacts`],
    ["no prefix", `/vendor-hooks/${"a".repeat(46)}/Contacts`],
    ["an encoded resource", `/vendor-hooks/${secret}/Con%74acts`],
    ["a resource that is no name", `/vendor-hooks/${secret}/../x`],
    ["another path", `/instances/${secret}/Contacts`],
  ])("takes no path with %s", (_case, path) => {
    expect(parseReceivingPath(path)).toBeUndefined();
  });
});
