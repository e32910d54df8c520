// An operation's samples with another request body: the one of each request example (one per
// connector for a create). Redoc shows an operation's x-codeSamples whichever example the reader
// picks, so an operation with several examples carries its samples in the examples instead (see
// docs-document.ts), each with that example's body put in place of the sample's own.
import ts from "typescript";
import type { OperationSamples } from "./docs-document.js";

export function withBody(samples: OperationSamples, operationId: string, body: unknown): OperationSamples {
  return { curl: curlWithBody(samples.curl, operationId, body), typescript: typescriptWithBody(samples.typescript, operationId, body) };
}

/** The curl sample's `-d '...'` data, replaced by the body as indented JSON (quoted for the shell). */
function curlWithBody(curl: string, operationId: string, body: unknown): string {
  const data = /-d '(?:[^']|'\\'')*'/;
  if (!data.test(curl)) throw new Error(`docs: samples/${operationId}.sh sends no -d '...' body to replace with each example's`);
  const json = readableJson(body, "  ").replace(/'/g, "'\\''");
  return curl.replace(data, () => `-d '${json}'`);
}

/**
 * The TypeScript sample's body, replaced: the object literal given as `body:` (openapi-fetch's
 * `client.POST(path, { body })`) or passed to a function named as the operation
 * (`createInstance(client, { ... })`). Found in the syntax tree, not by pattern, so the rest of
 * the sample stays exactly as written.
 */
function typescriptWithBody(source: string, operationId: string, body: unknown): string {
  const file = ts.createSourceFile(`${operationId}.ts`, source, ts.ScriptTarget.Latest, true);
  let found: ts.ObjectLiteralExpression | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isPropertyAssignment(node) && node.name.getText(file) === "body" && ts.isObjectLiteralExpression(node.initializer)) {
      found = node.initializer;
      return;
    }
    if (ts.isCallExpression(node) && node.expression.getText(file) === operationId) {
      found = node.arguments.find(ts.isObjectLiteralExpression);
      if (found) return;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (!found) throw new Error(`docs: samples/${operationId}.ts has no body object literal to replace with each example's`);
  const line = source.slice(source.lastIndexOf("\n", found.getStart(file)) + 1, found.getStart(file));
  const indent = /^\s*/.exec(line)![0];
  const literal = readableJson(body, indent);
  return source.slice(0, found.getStart(file)) + literal + source.slice(found.getEnd());
}

/** JSON as a reader would write it: a value that fits in 72 characters on one line, else one member a line. */
function readableJson(value: unknown, indent: string): string {
  const flat = JSON.stringify(value, null, 1)
    .replace(/\n\s*/g, " ")
    .replace(/([[{]) /g, "$1")
    .replace(/ ([\]}])/g, "$1");
  if (flat.length + indent.length <= 72 || value === null || typeof value !== "object") return flat;
  const inner = `${indent}  `;
  const members = Array.isArray(value)
    ? value.map((item) => inner + readableJson(item, inner))
    : Object.entries(value).map(([key, item]) => `${inner}${JSON.stringify(key)}: ${readableJson(item, inner)}`);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  return `${open}\n${members.join(",\n")}\n${indent}${close}`;
}
