import { describe, expect, it } from "vitest";
import { problemTypesOf, readProblemTypes, type SpecDocument } from "../src/index.js";

const uri = (name: string) => `urn:instances-api:problem:${name}`;

function specWith(problemType: Record<string, unknown> | undefined): SpecDocument {
  return { components: { schemas: problemType ? { ProblemType: problemType } : {} } };
}

describe("the problem type catalog", () => {
  it("reads each type's name, status and meaning, in the catalog's order", () => {
    const spec = specWith({
      type: "string",
      enum: [uri("not-found"), uri("internal")],
      "x-enumDescriptions": {
        [uri("internal")]: "`500` An unexpected fault.\nQuote the `requestId`.",
        [uri("not-found")]: "`404` No such resource.",
      },
    });
    expect(readProblemTypes(spec)).toEqual([
      { type: uri("not-found"), name: "not-found", status: 404, meaning: "No such resource." },
      { type: uri("internal"), name: "internal", status: 500, meaning: "An unexpected fault.\nQuote the `requestId`." },
    ]);
  });

  it.each([
    ["no ProblemType", undefined, /has no enum/],
    [
      "a type without a description",
      { enum: [uri("a")], "x-enumDescriptions": {} },
      /description of urn:instances-api:problem:a does not start/,
    ],
    [
      "a description without a status",
      { enum: [uri("a")], "x-enumDescriptions": { [uri("a")]: "Something." } },
      /does not start with its status/,
    ],
    [
      "a status that is no error",
      { enum: [uri("a")], "x-enumDescriptions": { [uri("a")]: "`200` Fine." } },
      /does not start with its status/,
    ],
    ["a description of a type outside the enum", { enum: [], "x-enumDescriptions": { [uri("b")]: "`400` B." } }, /outside its enum: .*:b$/],
    [
      "a type of another namespace",
      { enum: ["about:blank"], "x-enumDescriptions": {} },
      /"about:blank" is not urn:instances-api:problem:<name>/,
    ],
  ])("refuses a catalog with %s", (_case, schema, message) => {
    expect(() => readProblemTypes(specWith(schema))).toThrow(message);
  });
});

describe("a response's problem types", () => {
  it("are its x-problem-types, or none", () => {
    expect(problemTypesOf({ description: "Bad.", "x-problem-types": [uri("a"), uri("b")] })).toEqual([uri("a"), uri("b")]);
    expect(problemTypesOf({ description: "Fine." })).toEqual([]);
  });
});
