import { describe, expect, it } from "vitest";
import { schemaValidator, type SpecDocument } from "../src/index.js";

const document: SpecDocument = {
  components: {
    schemas: {
      Stamp: {
        type: "object",
        required: ["at", "count"],
        properties: { at: { type: "string", format: "date-time" }, count: { type: "integer" } },
      },
      Maybe: { oneOf: [{ type: "string" }, { type: "null" }] },
    },
  },
};

describe("schemaValidator", () => {
  it("validates by pointer, formats included, as JSON Schema 2020-12 reads OpenAPI 3.1", () => {
    const { validate } = schemaValidator(document);
    expect(validate("#/components/schemas/Stamp", { at: "2026-11-27T19:00:00Z", count: 1 })).toEqual([]);
    expect(validate("#/components/schemas/Stamp", { at: "yesterday", count: 1 })[0]).toMatchObject({ keyword: "format" });
    expect(validate("#/components/schemas/Maybe", null)).toEqual([]);
  });

  it("stops at the first error unless every error is asked for", () => {
    const bad = { at: "yesterday", count: "one" };
    expect(schemaValidator(document).validate("#/components/schemas/Stamp", bad)).toHaveLength(1);
    expect(schemaValidator(document, { allErrors: true }).validate("#/components/schemas/Stamp", bad)).toHaveLength(2);
  });

  it("says which pointer has no schema", () => {
    expect(() => schemaValidator(document).compile("#/components/schemas/Nothing")).toThrow(
      "spec: no schema at #/components/schemas/Nothing",
    );
  });
});
