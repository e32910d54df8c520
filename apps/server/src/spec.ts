// The bundled spec (@instances-api/spec/openapi.json): the document the validator checks requests
// and responses against, and from which the connector registry is read.
import { createRequire } from "node:module";
import { readSpecDocument, type SpecDocument } from "@instances-api/spec-tools";

const require = createRequire(import.meta.url);

export function loadBundledSpec(): SpecDocument {
  return readSpecDocument(require.resolve("@instances-api/spec/openapi.json"));
}

/** The API's base path, from the spec's first server URL: `/your_moms/api-v2`. */
export function basePathOf(spec: SpecDocument): string {
  const url = spec.servers?.[0]?.url;
  if (!url) throw new Error("the spec names no server");
  return new URL(url).pathname.replace(/\/$/, "");
}
