// The bundled spec (@instances-api/spec/openapi.json): the document the validator checks requests
// and responses against, and from which the connector registry is read.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { OpenApiDocument } from "./api-types.js";

const require = createRequire(import.meta.url);

export function loadBundledSpec(): OpenApiDocument {
  return JSON.parse(readFileSync(require.resolve("@instances-api/spec/openapi.json"), "utf8")) as OpenApiDocument;
}

/** The API's base path, from the spec's first server URL: `/your_moms/api-v2`. */
export function basePathOf(spec: OpenApiDocument): string {
  const url = spec.servers?.[0]?.url;
  if (!url) throw new Error("the spec names no server");
  return new URL(url).pathname.replace(/\/$/, "");
}
