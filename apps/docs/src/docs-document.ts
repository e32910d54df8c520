// The document the docs render: the bundled spec plus what readers need that the spec holds only
// as data: a section per connector (its entries as a table, its sample request and response), the
// missing-entries error as an example, and curl and TypeScript samples on every operation.
import { readConnectors, walk, type ConnectorDefinition, type SpecDocument } from "@instances-api/spec-tools";

export interface CodeSample {
  lang: string;
  label: string;
  source: string;
}

export interface OperationSamples {
  curl: string;
  typescript: string;
}

type Operation = { operationId?: string; "x-codeSamples"?: CodeSample[] };
type Document = SpecDocument & { info: { description?: string }; paths: Record<string, Record<string, unknown>> };

const methods = ["get", "put", "post", "patch", "delete"] as const;

/** Every operation of the document, by operationId. */
export function operationsOf(spec: Document): Map<string, Operation> {
  const found = new Map<string, Operation>();
  for (const item of Object.values(spec.paths)) {
    for (const method of methods) {
      const operation = item[method] as Operation | undefined;
      if (operation?.operationId) found.set(operation.operationId, operation);
    }
  }
  return found;
}

export function docsDocument(bundle: SpecDocument, samples: (operationId: string) => OperationSamples): Document {
  const spec = structuredClone(bundle) as Document;
  for (const [operationId, operation] of operationsOf(spec)) {
    const { curl, typescript } = samples(operationId);
    operation["x-codeSamples"] = [
      { lang: "curl", label: "curl", source: curl },
      { lang: "TypeScript", label: "TypeScript", source: typescript },
    ];
  }
  const connectors = readConnectors(spec).map((connector) => connectorSection(spec, connector));
  spec.info.description =
    [spec.info.description?.trimEnd() ?? "", missingEntriesExample(spec), "# Connectors", ...connectors].join("\n\n") + "\n";
  return spec;
}

function missingEntriesExample(spec: Document): string {
  const example = walk(spec, [
    "components",
    "responses",
    "BadRequest",
    "content",
    "application/problem+json",
    "examples",
    "missingEntries",
    "value",
  ]);
  return ["## Example: missing configuration entries", "```json", JSON.stringify(example, null, 2), "```"].join("\n");
}

function connectorSection(spec: Document, connector: ConnectorDefinition): string {
  const { catalog } = connector;
  const rows = connector.entries.map((entry) =>
    [
      `\`${entry.key}\``,
      entry.required ? "yes" : "no",
      entry.secret ? "yes" : "no",
      entry.default == null ? "" : `\`${entry.default}\``,
      cell(entry.description),
    ].join(" | "),
  );
  const platform = Object.entries(connector.platformConfiguration).map(
    ([key, value]) => `\`${key}\`${connector.secretKeys.has(key) ? " (secret)" : value === null ? "" : ` = \`${value}\``}`,
  );
  const create = ["paths", "/instances", "post"];
  const request = walk(spec, [...create, "requestBody", "content", "application/json", "examples", connector.key, "value"]);
  const response = walk(spec, [...create, "responses", "200", "content", "application/json", "examples", connector.key, "value"]);
  return [
    `## ${catalog.name}`,
    connector.description,
    catalog.description,
    `Key \`${connector.key}\` · catalog id ${catalog.id} · OAuth: ${catalog.typeOauth ? "yes" : "no"} · trial account: ${catalog.trialAccount ? "yes" : "no"}${catalog.signupURL ? ` · [sign up](${catalog.signupURL})` : ""}`,
    "| Entry | Required | Secret | Default | Description |\n|---|---|---|---|---|\n" + rows.map((row) => `| ${row} |`).join("\n"),
    platform.length ? `The platform adds: ${platform.join(", ")}.` : "The platform adds no entries of its own.",
    "**Sample request**",
    "```json\n" + JSON.stringify(request, null, 2) + "\n```",
    "**Sample response** (the guide's, corrected; secrets masked as this server returns them)",
    "```json\n" + JSON.stringify(response, null, 2) + "\n```",
  ]
    .filter(Boolean)
    .join("\n\n");
}

/** Markdown table cell text: one line, no pipe breaking the row. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replace(/\|/g, "\\|");
}
