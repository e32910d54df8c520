// The spec proven against the guides in ../shared/seeds: their requests validate, their required
// entries are required, their responses fit the response schema, and the spec's examples and
// catalog data are the guides' own, corrected.
import {
  correctedResponse,
  fillPlaceholders,
  isPlaceholder,
  placeholderEntries,
  guidesIfPresent,
  type JsonObject,
} from "@instances-api/seeds";
import { describe, expect, it } from "vitest";
import { connectorSchemas, resolve, secretEntries, validate } from "./bundle.js";

// Skipped, with one line that says why, in a clone with no guides beside it (CI requires them).
const guides = guidesIfPresent();
const seeds = guides ?? [];
const createRequest = "#/components/schemas/CreateInstanceRequest";
const instance = "#/components/schemas/Instance";
const cases = seeds.map((seed) => [seed.heading, seed] as const);

function connectorOf(key: string) {
  const connector = connectorSchemas.get(key);
  if (!connector) throw new Error(`the spec has no connector ${key}`);
  return connector;
}

function withoutEntry(request: JsonObject, entry: string): JsonObject {
  const copy = structuredClone(request);
  delete (copy.configuration as JsonObject)[entry];
  return copy;
}

const mask = "********";
function masked(response: JsonObject, secrets: Set<string>): JsonObject {
  const copy = structuredClone(response);
  const configuration = copy.configuration as JsonObject | undefined;
  for (const key of Object.keys(configuration ?? {})) if (secrets.has(key) && configuration) configuration[key] = mask;
  return copy;
}

describe.skipIf(!guides)("against the Create Instance guides", () => {
  it("reads the five guides", () => {
    expect(seeds).toHaveLength(5);
  });

  it("the spec has exactly the guides' connectors", () => {
    expect([...connectorSchemas.keys()].sort()).toEqual(seeds.map((s) => s.connectorKey).sort());
  });

  describe.each(cases)("%s", (_heading, seed) => {
    const { schema, pointer } = connectorOf(seed.connectorKey);
    const request = fillPlaceholders(seed.request);
    const required = schema.properties.configuration.required;

    it("its request, placeholders filled, is a valid create request", () => {
      expect(validate(createRequest, request)).toEqual([]);
    });

    it("its request matches its own connector's branch and no other", () => {
      const matching = [...connectorSchemas].filter(([, c]) => validate(c.pointer, request).length === 0).map(([key]) => key);
      expect(matching).toEqual([seed.connectorKey]);
      expect(validate(pointer, request)).toEqual([]);
    });

    it("requires every entry the guide fills with a placeholder", () => {
      expect(required).toEqual(expect.arrayContaining(placeholderEntries(seed.request)));
    });

    it("requires only entries the guide's request shows", () => {
      expect(Object.keys(seed.request.configuration as object)).toEqual(expect.arrayContaining(required));
    });

    it.each(required)("rejects the request without %s", (entry) => {
      expect(validate(createRequest, withoutEntry(request, entry))).not.toEqual([]);
      expect(validate(pointer, withoutEntry(request, entry))).toContainEqual(
        expect.objectContaining({ keyword: "required", params: { missingProperty: entry } }),
      );
    });

    it("gives each optional entry the guide fills in the guide's value as its default", () => {
      const configuration = seed.request.configuration as JsonObject;
      const optionalShown = Object.keys(configuration).filter((key) => !required.includes(key));
      for (const key of optionalShown) {
        expect(isPlaceholder(configuration[key] ?? null)).toBe(false);
        expect(resolve(schema.properties.configuration.properties[key]).default, key).toBe(configuration[key]);
      }
    });

    it("rejects an unknown configuration entry", () => {
      const unknown = structuredClone(request);
      (unknown.configuration as JsonObject)["no.such.entry"] = "x";
      expect(validate(createRequest, unknown)).not.toEqual([]);
    });

    it("marks secrets writeOnly with format password", () => {
      for (const [key, entry] of Object.entries(schema.properties.configuration.properties)) {
        const resolved = resolve(entry);
        if (resolved.writeOnly) expect(resolved.format, key).toBe("password");
        if (/password|secret|api\.key/.test(key)) expect(resolved.writeOnly, key).toBe(true);
      }
    });

    it("its response, repaired, fits the response schema", () => {
      expect(validate(instance, seed.response)).toEqual([]);
      expect(validate(instance, correctedResponse(seed))).toEqual([]);
    });

    it("carries the guide's catalog data with the front matter's id", () => {
      const catalog: Record<string, unknown> = { ...schema["x-connector"].catalog, key: seed.connectorKey };
      expect(catalog).toEqual(correctedResponse(seed).your_mom);
      expect(catalog.id).toBe(seed.connectorId);
      expect(validate("#/components/schemas/ConnectorSummary", catalog)).toEqual([]);
    });

    it("carries the platform entries the guide's response adds, literally", () => {
      const response = seed.response.configuration as JsonObject | undefined;
      const platform = schema["x-connector"].platformConfiguration;
      const callerEntries = Object.keys(seed.request.configuration as object);
      const expected = Object.fromEntries(Object.entries(response ?? {}).filter(([key]) => !callerEntries.includes(key)));
      expect(platform).toEqual(expected);
      for (const secret of schema["x-connector"].platformSecrets) expect(Object.keys(platform)).toContain(secret);
    });

    it("has the guide's response, corrected and with secrets masked, as its response example", () => {
      const examples = resolve<Record<string, { $ref: string }>>({
        $ref: "#/paths/~1instances/post/responses/200/content/application~1json/examples",
      });
      const example = resolve<{ value: JsonObject }>(examples[seed.connectorKey]);
      expect(example.value).toEqual(masked(correctedResponse(seed), secretEntries(schema)));
    });

    it("has the guide's request, placeholders filled with real-looking values, as its request example", () => {
      const examples = resolve<Record<string, { $ref: string }>>({
        $ref: "#/paths/~1instances/post/requestBody/content/application~1json/examples",
      });
      const example = resolve<{ value: JsonObject }>(examples[seed.connectorKey]).value;
      const guide = seed.request.configuration as JsonObject;
      const mine = example.configuration as JsonObject;
      expect(Object.keys(mine).sort()).toEqual(Object.keys(guide).sort());
      for (const [key, value] of Object.entries(guide)) if (!isPlaceholder(value)) expect(mine[key], key).toBe(value);
      expect(example.your_mom).toEqual(seed.request.your_mom);
    });
  });
});
