// The bundled OpenAPI document as every workspace reads it: its type (as far as the tools need
// it) and how to load it from a file.
import { readFileSync } from "node:fs";

export type JsonObject = Record<string, unknown>;

/** The bundled OpenAPI 3.1 document (@instances-api/spec's dist/openapi.json). */
export interface SpecDocument {
  openapi?: string;
  servers?: { url: string }[];
  paths?: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonObject>; [section: string]: Record<string, unknown> | undefined };
  [key: string]: unknown;
}

/** The document in a bundled JSON file (resolve it with `require.resolve("@instances-api/spec/openapi.json")`). */
export function readSpecDocument(file: string): SpecDocument {
  return JSON.parse(readFileSync(file, "utf8")) as SpecDocument;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
