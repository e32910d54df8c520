// What a response shows of a provisioning state: valid only while the last check succeeded and
// the token it issued has not expired.
import { describe, expect, it } from "vitest";
import { encodeState, shownState, type ProvisioningState } from "../../src/provisioning/state.js";

const state = (over: Partial<ProvisioningState>): string =>
  encodeState(
    { valid: true, interactions: [], issued: {}, issuedSecrets: {}, refreshDueAt: null, ...over },
    (clear) => `sealed:${clear.length}`,
  );

describe("shownState", () => {
  it.each([
    ["a row with no state", undefined, 1_000, true],
    ["a check that succeeded, no token", state({}), 1_000, true],
    ["a check that failed", state({ valid: false }), 1_000, false],
    ["a token still good", state({ expiresAt: 2_000 }), 1_999, true],
    ["a token expired (fixed: it showed valid)", state({ expiresAt: 2_000 }), 2_000, false],
    ["a failed check, token still good", state({ valid: false, expiresAt: 2_000 }), 1_000, false],
  ])("%s", (_name, column, now, valid) => {
    expect(shownState(column, now).valid).toBe(valid);
  });

  it("keeps the accepted origin and expiry in the column, and no issued secret in clear", () => {
    const column = state({ acceptedOrigin: "https://crm.example.com", expiresAt: 5, issuedSecrets: { token: "t0ken-in-clear" } });
    expect(JSON.parse(column)).toMatchObject({ acceptedOrigin: "https://crm.example.com", expiresAt: 5 });
    expect(column).not.toContain("t0ken-in-clear");
  });
});
