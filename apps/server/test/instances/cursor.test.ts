// The list's page cursor, a pure module: it round-trips the last id for the filters it was issued
// for, and refuses any other spelling, any other filters and anything it did not issue.
import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, type ListFilters } from "../../src/instances/cursor.js";
import { InvalidRequestError } from "../../src/errors.js";

const filters: ListFilters = { tags: ["crm", "eu"], connectorKey: "sugarcrmv2" };

describe("the page cursor", () => {
  it.each([
    ["the first id", 1, filters, filters],
    ["a large id", Number.MAX_SAFE_INTEGER, filters, filters],
    ["tags in another order and repeated", 42, filters, { tags: ["eu", "crm", "eu"], connectorKey: "sugarcrmv2" }],
    ["no filters", 7, { tags: [], connectorKey: undefined }, { tags: [], connectorKey: undefined }],
  ])("round-trips %s", (_name, id, issuedFor, readWith) => {
    expect(decodeCursor(encodeCursor(id, issuedFor), readWith)).toBe(id);
  });

  it("reads no cursor as the start", () => {
    expect(decodeCursor(undefined, filters)).toBe(0);
  });

  it.each([
    ["garbage", "not-a-cursor", /not a cursor this server issued/],
    ["JSON that is not a cursor", Buffer.from('{"x":1}').toString("base64url"), /not a cursor this server issued/],
    ["a negative id", Buffer.from('{"a":-1,"f":"x"}').toString("base64url"), /not a cursor this server issued/],
    ["another spelling of an issued one (1e0)", encodeCursor(1, filters).replace(/.$/, "") + "=", /not a cursor|other filters/],
    ["one issued for other filters", encodeCursor(5, { tags: ["other"], connectorKey: undefined }), /issued for other filters/],
  ])("refuses %s with a 400 naming nextPage", (_name, cursor, message) => {
    let thrown: unknown;
    try {
      decodeCursor(cursor, filters);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidRequestError);
    expect((thrown as InvalidRequestError).message).toMatch(message);
    expect((thrown as InvalidRequestError).fields).toMatchObject({ errors: [{ path: "/query/nextPage" }] });
  });
});
