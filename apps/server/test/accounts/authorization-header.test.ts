// The Authorization header's two forms, the seeds' and Cloud Elements' (with an Element part that
// names one instance), and what is not one of them.
import { describe, expect, it } from "vitest";
import { authenticationCacheKey, parseAuthorization } from "../../src/accounts/accounts.js";

describe("parseAuthorization", () => {
  it.each([
    [
      "the seeds' form",
      "User u1, Organization o1",
      { accountPart: "User u1, Organization o1", userSecret: "u1", organizationSecret: "o1" },
    ],
    [
      "any spacing around the comma",
      "  User u1 ,Organization   o1 ",
      { accountPart: "  User u1 ,Organization   o1 ", userSecret: "u1", organizationSecret: "o1" },
    ],
    [
      "the Element form",
      "User u1, Organization o1, Element cPPwym+pwr26KozRxOhlBkX00MfD5V083o=",
      {
        accountPart: "User u1, Organization o1",
        userSecret: "u1",
        organizationSecret: "o1",
        instanceToken: "cPPwym+pwr26KozRxOhlBkX00MfD5V083o=",
      },
    ],
    [
      "the Element form, spaced",
      "User u1 , Organization o1 ,  Element t ",
      { accountPart: "User u1 , Organization o1 ", userSecret: "u1", organizationSecret: "o1", instanceToken: "t" },
    ],
  ])("reads %s", (_name, header, want) => {
    expect(parseAuthorization(header)).toEqual(want);
  });

  it.each([
    ["no header", undefined],
    ["an empty one", ""],
    ["the parts in another order", "Organization o1, User u1"],
    ["Element before Organization", "User u1, Element t, Organization o1"],
    ["an Element part without a token", "User u1, Organization o1, Element"],
    ["a trailing comma", "User u1, Organization o1,"],
    ["a fourth part", "User u1, Organization o1, Element t, Element t2"],
    ["another scheme's word", "User u1, Organization o1, Bearer t"],
    ["a secret with a space in it", "User u 1, Organization o1"],
  ])("refuses %s", (_name, header) => {
    expect(parseAuthorization(header)).toBeUndefined();
  });

  it("keys the account cache by the account part as sent, never by the token", () => {
    const key = authenticationCacheKey(parseAuthorization("User u1, Organization o1")!);
    expect(authenticationCacheKey(parseAuthorization("User u1, Organization o1, Element t")!)).toBe(key);
    expect(authenticationCacheKey(parseAuthorization("User u1, Organization o1,Element t2")!)).toBe(key);
    // Another spelling is another key: the server looks it up (after a rotation, refused at once).
    expect(authenticationCacheKey(parseAuthorization("User u1 ,Organization o1")!)).not.toBe(key);
    expect(authenticationCacheKey(parseAuthorization("User u1, Organization o2")!)).not.toBe(key);
  });
});
