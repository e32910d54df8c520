// What users read when they hover: the spec's descriptions reach the generated types as JSDoc
// (each connector's configuration entries, each operation's parameters), and an editor shows
// them on the names users write with this client (asked of TypeScript's language service).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { hover } from "./compile.js";

type Schema = { [key: string]: unknown };
const spec = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as {
  paths: Record<string, Record<string, Schema>>;
  components: { schemas: Record<string, Schema>; parameters: Record<string, Schema> };
};
const generated = ts.createSourceFile(
  "schema.ts",
  readFileSync(new URL("../src/generated/schema.ts", import.meta.url), "utf8"),
  ts.ScriptTarget.Latest,
  true,
);

function resolve(node: Schema): Schema {
  const ref = node.$ref;
  if (typeof ref !== "string") return node;
  return ref
    .slice(2)
    .split("/")
    .reduce<unknown>((at, part) => (at as Schema)[part], spec) as Schema;
}
/** Text with its line breaks and JSDoc leaders folded into single spaces. */
function folded(text: string): string {
  return text
    .replace(/\n\s*\*\s?/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

// The generated file's declarations, by path: `components.schemas.FreshserviceInstanceRequest.configuration.subdomain`.
const jsdocByPath = new Map<string, string>();
function collect(node: ts.Node, path: string[]): void {
  if ((ts.isPropertySignature(node) || ts.isInterfaceDeclaration(node)) && node.name) {
    const name = ts.isStringLiteral(node.name) ? node.name.text : node.name.getText(generated);
    const at = [...path, name];
    const docs = ts.getJSDocCommentsAndTags(node).map((doc) => doc.getText(generated).replace(/^\/\*\*|\*\/$/g, ""));
    jsdocByPath.set(at.join("."), folded(docs.join(" ")));
    node.forEachChild((child) => collect(child, at));
    return;
  }
  node.forEachChild((child) => collect(child, path));
}
collect(generated, []);

// Every connector's entries, each with its own description in the spec (beside a `$ref` where the
// entry is shared).
const connectors = (resolve(spec.components.schemas.CreateInstanceRequest!).oneOf as Schema[]).map((branch) => {
  const schema = resolve(branch);
  const name = (branch.$ref as string).split("/").at(-1)!;
  const properties = schema.properties as Record<string, Schema>;
  const key = (resolve(properties.your_mom!).properties as Record<string, Schema>).key!.const as string;
  const entries = Object.entries((properties.configuration!.properties ?? {}) as Record<string, Schema>);
  return { name, key, entries };
});
const entries = connectors.flatMap(({ name, key, entries }) =>
  entries.map(([entry, schema]) => [`${key} ${entry}`, { name, key, entry, description: schema.description }] as const),
);

// Every operation's parameters, with their descriptions.
const parameters = Object.values(spec.paths).flatMap((pathItem) =>
  Object.entries(pathItem)
    .filter(([method]) => ["get", "put", "post", "patch", "delete", "head"].includes(method))
    .flatMap(([, operation]) => {
      const own = [...((pathItem.parameters as Schema[] | undefined) ?? []), ...((operation.parameters as Schema[] | undefined) ?? [])];
      return own.map((p) => {
        const parameter = resolve(p);
        const where = `operations.${operation.operationId as string}.parameters.${parameter.in as string}.${parameter.name as string}`;
        return [where, { where, description: parameter.description }] as const;
      });
    }),
);

describe("the generated types' JSDoc", () => {
  it.each(entries)("%s: the spec describes the entry itself", (_name, { description }) => {
    expect(typeof description === "string" && description.trim().length > 0).toBe(true);
  });

  it.each(entries)("%s: its description is the JSDoc of its declaration", (_name, { name, entry, description }) => {
    expect(jsdocByPath.get(`components.schemas.${name}.configuration.${entry}`)).toContain(folded(String(description)));
  });

  it.each(parameters)("%s: its description is the JSDoc of its declaration", (where, { description }) => {
    expect(typeof description).toBe("string");
    expect(jsdocByPath.get(where)).toContain(folded(String(description)));
  });

  it("covers every connector's entries and the parameters users set", () => {
    expect(connectors).toHaveLength(5);
    expect(entries.length).toBeGreaterThanOrEqual(20);
    expect(parameters.map(([where]) => where)).toEqual(
      expect.arrayContaining([
        "operations.listInstances.parameters.query.pageSize",
        "operations.createInstance.parameters.header.Idempotency-Key",
        "operations.updateInstance.parameters.header.If-Match",
        "operations.replaceInstance.parameters.header.If-Match",
      ]),
    );
  });
});

// What an editor shows on the names users write: every entry in a createInstance body, the
// options' headers, pageSize in listAllInstances, an entry in an updateInstance patch.
const names = (entry: string) => (/^[A-Za-z_$][\w$]*$/.test(entry) ? entry : JSON.stringify(entry));
const calls = connectors.map(
  ({ key, entries }) =>
    `createInstance(client, { your_mom: { key: "${key}" }, name: "n", configuration: {\n${entries.map(([entry]) => `  ${names(entry)}: "${key}:${entry}",`).join("\n")}\n} });`,
);
const source = `import { createInstance, listAllInstances, replaceInstance, updateInstance, type InstancesClient } from "@instances-api/client";
declare const client: InstancesClient;
${calls.map((call, i) => `export const created${i} = ${call}`).join("\n")}
export const keyed = createInstance(client, { your_mom: { key: "taxify" }, name: "n", configuration: { "api.key": "k" } }, { params: { header: { "Idempotency-Key": "k" } } });
export const listed = listAllInstances(client, { tags: ["crm"], pageSize: 100 });
export const replaced = replaceInstance(client, 1, { your_mom: { key: "taxify" }, name: "n", configuration: { "api.key": "k" } }, { params: { header: { "If-Match": '"1"' } } });
export const updated = updateInstance(client, 1, "freshservice", { configuration: { subdomain: "acme-prod" } }, { params: { header: { "If-Match": '"2"' } } });
export async function rotated() { const { data } = await client.POST("/instances/{id}/token", { params: { path: { id: 1 } } }); return data?.token; }
`;
const targets = {
  "Idempotency-Key": ['"Idempotency-Key": "k"', "operations.createInstance.parameters.header.Idempotency-Key"],
  pageSize: ["pageSize: 100", "operations.listInstances.parameters.query.pageSize"],
  "If-Match (replace)": [`"If-Match": '"1"'`, "operations.replaceInstance.parameters.header.If-Match"],
  "If-Match (update)": [`"If-Match": '"2"'`, "operations.updateInstance.parameters.header.If-Match"],
  "subdomain (update)": ['subdomain: "acme-prod"', "components.schemas.FreshserviceInstanceRequest.configuration.subdomain"],
  "token (rotation)": ["token; }", "components.schemas.Instance.token"],
} as const;
const entryTargets = entries.map(([name, { key, entry }]) => [name, `${names(entry)}: "${key}:${entry}"`] as const);
const shown = hover(source, [...Object.values(targets).map(([text]) => text), ...entryTargets.map(([, text]) => text)]);

/** The documentation shown on hover, without the signature line above it. */
function documentation(text: string): string {
  return folded(shown[text]!.split("\n").slice(1).join("\n"));
}

describe("what an editor shows on hover", () => {
  it.each(entryTargets)("a createInstance body's %s shows the entry's description", (name, text) => {
    const { description } = Object.fromEntries(entries)[name]!;
    expect(typeof description).toBe("string");
    expect(documentation(text)).toContain(folded(String(description)));
  });

  it.each(Object.entries(targets))("%s shows its description", (_name, [text, declaration]) => {
    const jsdoc = jsdocByPath.get(declaration)!;
    const description = /@description (.*?)(?: @\w+ |$)/.exec(jsdoc)?.[1];
    expect(description?.length).toBeGreaterThan(20);
    expect(documentation(text)).toContain(description);
  });
});
