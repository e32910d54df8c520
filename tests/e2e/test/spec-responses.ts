// Checks a response against the bundled spec: is the status one the operation documents, and
// does the body validate against the schema of that status and content type?
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

type Json = Record<string, unknown>;
interface Spec {
  servers: { url: string }[];
  paths: Record<string, Record<string, { responses: Record<string, Json> }>>;
  components: Json;
}

export const spec = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as Spec;
export const basePath = new URL(spec.servers[0]!.url).pathname;

const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false });
addFormats.default(ajv);
ajv.addSchema(spec, "openapi.json");

const templates = Object.keys(spec.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

export interface Verdict {
  problems: string[];
}

function pointer(parts: string[]): string {
  return "openapi.json#/" + parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
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
    const check = ajv.getSchema(pointer(["components", "schemas", "Problem"]))!;
    if (!check(JSON.parse(body))) problems.push(`a body that breaks the spec: ${ajv.errorsText(check.errors)}`);
    return problems;
  }
  const operation = template ? spec.paths[template]![method.toLowerCase()] : undefined;

  let schemaPointer: string | undefined;
  if (!template) {
    if (status !== 404) problems.push(`status ${status} for a path the spec does not have (want 404)`);
    schemaPointer = pointer(["components", "schemas", "Problem"]);
  } else if (!operation) {
    if (status !== 405) problems.push(`status ${status} for a method ${template} does not have (want 405)`);
    schemaPointer = pointer(["components", "schemas", "Problem"]);
  } else {
    const documented = operation.responses[String(status)];
    if (!documented) {
      problems.push(`status ${status} is not documented for ${method} ${template}`);
      return problems;
    }
    const responseParts = ["paths", template, method.toLowerCase(), "responses", String(status)];
    let response = documented;
    if (typeof response.$ref === "string") {
      responseParts.splice(
        0,
        responseParts.length,
        ...response.$ref
          .slice(2)
          .split("/")
          .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~")),
      );
      response = responseParts.reduce<Json>((at, part) => at[part] as Json, spec as unknown as Json);
    }
    const content = response.content as Record<string, unknown> | undefined;
    if (!content) {
      if (body !== "") problems.push(`a body on a ${status} that has none`);
      return problems;
    }
    const mediaType = (contentType ?? "").split(";")[0]!.trim();
    if (!(mediaType in content)) problems.push(`content type ${contentType} is not documented for ${status}`);
    else schemaPointer = pointer([...responseParts, "content", mediaType, "schema"]);
  }
  if (schemaPointer) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      problems.push(`a body that is not JSON: ${body.slice(0, 80)}`);
      return problems;
    }
    const check = ajv.getSchema(schemaPointer);
    if (!check) problems.push(`no schema at ${schemaPointer}`);
    else if (!check(parsed)) problems.push(`a body that breaks the spec: ${ajv.errorsText(check.errors)}`);
  }
  return problems;
}
