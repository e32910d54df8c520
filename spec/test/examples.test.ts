// Every example in the spec validates against the schema it illustrates: media-type examples (the
// events' among them), parameter examples and schema-level `example`s.
import { pointerOf as pointer } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { bundle, resolve, validate } from "./bundle.js";

interface Found {
  where: string;
  schemaPointer: string;
  value: unknown;
}

/** Walks the bundle for examples and the schema each one belongs to. */
function findExamples(node: unknown, path: string[], found: Found[]): Found[] {
  if (node === null || typeof node !== "object") return found;
  const object = node as Record<string, unknown>;
  const inSchema = path.includes("schemas") || path.at(-1) === "schema" || path.includes("properties");
  if ("schema" in object && "examples" in object && typeof object.examples === "object") {
    for (const [name, example] of Object.entries(object.examples as object)) {
      found.push({
        where: `${pointer(path)} example ${name}`,
        schemaPointer: pointer([...path, "schema"]),
        value: resolve<{ value: unknown }>(example).value,
      });
    }
  }
  if ("schema" in object && "example" in object) {
    found.push({ where: `${pointer(path)} example`, schemaPointer: pointer([...path, "schema"]), value: object.example });
  }
  if (inSchema && "example" in object && !("schema" in object)) {
    found.push({ where: `${pointer(path)} example`, schemaPointer: pointer(path), value: object.example });
  }
  for (const [key, child] of Object.entries(object)) {
    if (key === "examples" || key === "example" || key === "x-connector") continue;
    findExamples(child, [...path, key], found);
  }
  return found;
}

const examples = findExamples(bundle, [], []);

describe("examples in the spec", () => {
  it("are many: every connector's request and response, the error bodies, the parameters, every event", () => {
    expect(examples.length).toBeGreaterThan(30);
    // The five creates, and a simulated vendor change's.
    expect(examples.filter((e) => e.where.startsWith("#/paths/") && e.where.includes("/post/requestBody")).length).toBe(6);
    expect(examples.filter((e) => e.where.startsWith("#/webhooks/") && e.where.includes("/post/requestBody")).length).toBe(10);
    expect(examples.filter((e) => e.where.includes("/post/responses/200")).length).toBe(6); // five creates, one verify
  });

  it.each(examples.map((e) => [e.where, e] as const))("%s is valid", (_where, example) => {
    expect(validate(example.schemaPointer, example.value)).toEqual([]);
  });
});
