// The bundled document (dist/openapi.json, built by `npm run build`), read with the spec tools: a
// validator that reports every error, and `resolve` for the bundle's local `$ref`s.
import { fileURLToPath } from "node:url";
import { readSpecDocument, resolveRef, schemaValidator, type JsonObject as JsonSchema, type SpecDocument } from "@instances-api/spec-tools";

export type { JsonSchema };

/** The bundle; this spec has paths (a bare OpenAPI document need not). */
export const bundle = readSpecDocument(fileURLToPath(new URL("../dist/openapi.json", import.meta.url))) as SpecDocument & {
  paths: Record<string, Record<string, unknown>>;
};

/** Validates `value` against the schema at `pointer` (such as `#/components/schemas/Instance`), listing every error. */
export const { validate } = schemaValidator(bundle, { allErrors: true });

export const schemas = bundle.components.schemas;

/** Follows a local `$ref` in the bundle. */
export function resolve<T = JsonSchema>(node: unknown): T {
  return resolveRef<T>(bundle, node);
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
