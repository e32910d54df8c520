// Checks a response against the bundled spec: is the status one the operation documents, and
// does the body validate against the schema of that status and content type?
import { createRequire } from "node:module";
import { partsOf, pointerOf, readSpecDocument, schemaValidator, walk, type JsonObject as Json } from "@instances-api/spec-tools";

interface Operation {
  responses: Record<string, Json>;
}

export const spec = readSpecDocument(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"));
export const basePath = new URL(spec.servers![0]!.url).pathname;
const paths = spec.paths as Record<string, Record<string, Operation>>;

const validator = schemaValidator(spec);

const templates = Object.keys(paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

export interface Verdict {
  problems: string[];
}

/** The path decoded, or undefined when its escapes are not UTF-8. */
function decodedPath(path: string): string | undefined {
  try {
    return decodeURI(path);
  } catch {
    return undefined;
  }
}

/** What is wrong with this answer to `method url`, by the spec; an empty list when nothing is. */
export function checkResponse(method: string, pathname: string, status: number, contentType: string | null, body: string): string[] {
  const problems: string[] = [];
  if (status >= 500) problems.push(`a ${status}`);
  // Routes are strict: /your_moms/ is no path of the spec (404), not another spelling of /your_moms.
  const raw = pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
  const inApi = raw === undefined ? undefined : (decodedPath(raw) ?? raw);
  const template = inApi === undefined ? undefined : templates.find((t) => t.pattern.test(inApi))?.template;
  if (template && decodedPath(raw!) === undefined) {
    // A path of the API whose escapes are not UTF-8 cannot be routed: 400, whatever the method.
    if (status !== 400) problems.push(`status ${status} for a path that is not UTF-8 (want 400)`);
    const errors = validator.validate(pointerOf(["components", "schemas", "Problem"]), JSON.parse(body));
    if (errors.length) problems.push(`a body that breaks the spec: ${validator.errorsText(errors)}`);
    return problems;
  }
  const operation = template ? paths[template]![method.toLowerCase()] : undefined;

  let schemaPointer: string | undefined;
  if (!template) {
    if (status !== 404) problems.push(`status ${status} for a path the spec does not have (want 404)`);
    schemaPointer = pointerOf(["components", "schemas", "Problem"]);
  } else if (!operation) {
    if (status !== 405) problems.push(`status ${status} for a method ${template} does not have (want 405)`);
    schemaPointer = pointerOf(["components", "schemas", "Problem"]);
  } else {
    const documented = operation.responses[String(status)];
    if (!documented) {
      problems.push(`status ${status} is not documented for ${method} ${template}`);
      return problems;
    }
    // The schema's pointer goes through the response's own $ref, if it has one.
    const responseParts =
      typeof documented.$ref === "string"
        ? partsOf(documented.$ref)
        : ["paths", template, method.toLowerCase(), "responses", String(status)];
    const response = walk<Json>(spec, responseParts);
    const content = response.content as Record<string, unknown> | undefined;
    if (!content) {
      if (body !== "") problems.push(`a body on a ${status} that has none`);
      return problems;
    }
    const mediaType = (contentType ?? "").split(";")[0]!.trim();
    if (!(mediaType in content)) problems.push(`content type ${contentType} is not documented for ${status}`);
    else schemaPointer = pointerOf([...responseParts, "content", mediaType, "schema"]);
  }
  if (schemaPointer) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      problems.push(`a body that is not JSON: ${body.slice(0, 80)}`);
      return problems;
    }
    const errors = validator.validate(schemaPointer, parsed);
    if (errors.length) problems.push(`a body that breaks the spec: ${validator.errorsText(errors)}`);
  }
  return problems;
}
