import { describe, expect, it } from "vitest";
import { dereferenced, partsOf, pointerOf, resolveRef, walk, type SpecDocument } from "../src/index.js";

const document: SpecDocument = {
  paths: { "/instances/{id}": { get: { responses: { "200": { $ref: "#/components/responses/Ok" } } } } },
  components: {
    schemas: {
      "a~b/c": { type: "string" },
      Pair: { type: "object", properties: { left: { $ref: "#/components/schemas/a~0b~1c" }, right: { type: "integer" } } },
    },
    responses: { Ok: { description: "ok", content: { "application/json": { schema: { $ref: "#/components/schemas/Pair" } } } } },
  },
};

describe("JSON pointers", () => {
  it("escape ~ as ~0 and / as ~1, in that order, and read them back", () => {
    expect(pointerOf(["paths", "/instances/{id}", "a~1"])).toBe("#/paths/~1instances~1{id}/a~01");
    expect(partsOf("#/paths/~1instances~1{id}/a~01")).toEqual(["paths", "/instances/{id}", "a~1"]);
  });

  it("refuse a pointer into another document", () => {
    expect(() => partsOf("other.json#/a")).toThrow(/not a local JSON pointer/);
  });
});

describe("$refs", () => {
  it("resolve a local $ref and leave any other node as it is", () => {
    expect(resolveRef(document, { $ref: "#/components/schemas/a~0b~1c" })).toEqual({ type: "string" });
    const plain = { type: "integer" };
    expect(resolveRef(document, plain)).toBe(plain);
  });

  it("are followed by walk at every step", () => {
    expect(
      walk(document, [
        "paths",
        "/instances/{id}",
        "get",
        "responses",
        "200",
        "content",
        "application/json",
        "schema",
        "properties",
        "right",
      ]),
    ).toEqual({
      type: "integer",
    });
    expect(walk(document, ["paths", "/nowhere", "get"])).toBeUndefined();
  });

  it("are all replaced in a dereferenced copy, the document left untouched", () => {
    expect(dereferenced(document, { $ref: "#/components/schemas/Pair" })).toEqual({
      type: "object",
      properties: { left: { type: "string" }, right: { type: "integer" } },
    });
    expect(document.components.schemas.Pair!.properties).toHaveProperty("left.$ref");
  });
});
