// The bundled document (dist/openapi.json, built by `npm run build`) and an Ajv that validates
// values against any schema in it by JSON pointer, as OpenAPI 3.1 (JSON Schema 2020-12) reads it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

export type JsonSchema = Record<string, unknown>;
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export const bundle = JSON.parse(readFileSync(fileURLToPath(new URL("../dist/openapi.json", import.meta.url)), "utf8")) as OpenApiDocument;

const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats.default(ajv);
ajv.addSchema(bundle, "openapi.json");

/** Validates `value` against the schema at `pointer` (such as `#/components/schemas/Instance`). */
export function validate(pointer: string, value: unknown): ErrorObject[] {
  const check = ajv.getSchema(`openapi.json${pointer}`);
  if (!check) throw new Error(`no schema at ${pointer}`);
  return check(value) ? [] : [...(check.errors ?? [])];
}

export const schemas = bundle.components.schemas as Record<string, JsonSchema>;

/** Follows a local `$ref` in the bundle. */
export function resolve<T = JsonSchema>(node: unknown): T {
  const ref = (node as { $ref?: string }).$ref;
  if (!ref) return node as T;
  return ref
    .slice(2)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce<unknown>((at, part) => (at as Record<string, unknown>)[part], bundle) as T;
}

export interface ConnectorSchema extends JsonSchema {
  "x-connector": {
    catalog: Record<string, unknown>;
    platformConfiguration: Record<string, string | null>;
    platformSecrets: string[];
  };
  properties: {
    your_mom: { properties: { key: { const: string } } };
    configuration: { required: string[]; properties: Record<string, JsonSchema> };
  };
}

/** The create request's branches: one schema per connector, by connector key. */
export const connectorSchemas: Map<string, { pointer: string; schema: ConnectorSchema }> = new Map(
  (schemas.CreateInstanceRequest as { oneOf: { $ref: string }[] }).oneOf.map(({ $ref }) => {
    const schema = resolve<ConnectorSchema>({ $ref });
    return [schema.properties.your_mom.properties.key.const, { pointer: $ref, schema }];
  }),
);

/** The entries of a connector's configuration that are secrets: its own and its platform's. */
export function secretEntries(schema: ConnectorSchema): Set<string> {
  const own = Object.entries(schema.properties.configuration.properties)
    .filter(([, entry]) => resolve(entry).writeOnly === true)
    .map(([key]) => key);
  return new Set([...own, ...schema["x-connector"].platformSecrets]);
}
