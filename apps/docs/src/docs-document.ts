// The document the docs render: the bundled spec plus what readers need that the spec holds only
// as data: a section per connector (its entries as a table, its sample request and response), the
// catalog of problem types as a table in the Errors section with the missing-entries error as an
// example, the types each error response may carry, and curl and TypeScript samples on every
// operation.
import {
  problemTypesOf,
  readConnectors,
  readProblemTypes,
  resolveRef,
  walk,
  type ConnectorDefinition,
  type ProblemTypeDefinition,
  type SpecDocument,
} from "@instances-api/spec-tools";
import { withBody } from "./example-samples.js";
import { highlightedCode } from "./highlighted-code.js";

export interface CodeSample {
  lang: string;
  label: string;
  source: string;
}

export interface OperationSamples {
  curl: string;
  typescript: string;
}

interface Example {
  summary?: string;
  description?: string;
  value?: unknown;
  $ref?: string;
}

type Operation = {
  operationId?: string;
  "x-codeSamples"?: CodeSample[];
  requestBody?: { content?: Record<string, { examples?: Record<string, Example> }> };
};
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
    const examples = operation.requestBody?.content?.["application/json"]?.examples ?? {};
    if (Object.keys(examples).length < 2) {
      const { curl, typescript } = samples(operationId);
      operation["x-codeSamples"] = [
        { lang: "curl", label: "curl", source: curl },
        { lang: "TypeScript", label: "TypeScript", source: typescript },
      ];
      continue;
    }
    // Redoc shows x-codeSamples whatever example the reader picks beside them (a create would
    // show Freshservice's body under "SugarCRM"), but it shows the picked example's description:
    // the samples go there, each with that example's body, highlighted as HTML (Redoc shows a
    // fenced block in Markdown as plain text).
    for (const [name, example] of Object.entries(examples)) {
      const { summary, description, value } = resolveRef<Example>(spec, example);
      const { curl, typescript } = withBody(samples(operationId), operationId, value);
      examples[name] = {
        ...(summary === undefined ? {} : { summary }),
        description: [description, "curl:", highlightedCode(curl, "bash"), "TypeScript:", highlightedCode(typescript, "typescript")]
          .filter(Boolean)
          .join("\n\n"),
        value,
      };
    }
  }
  listResponseProblemTypes(spec);
  const connectors = readConnectors(spec).map((connector) => connectorSection(spec, connector));
  const described = withErrorsSection(spec.info.description ?? "", [problemTypesSection(spec), missingEntriesExample(spec)]);
  spec.info.description = [described.trimEnd(), "# Connectors", ...connectors].join("\n\n") + "\n";
  return spec;
}

const errorsHeading = "# Errors";

/** The description with `added` at the end of its `# Errors` section (the spec's own words on the error body). */
function withErrorsSection(description: string, added: string[]): string {
  const lines = description.split("\n");
  const start = lines.indexOf(errorsHeading);
  if (start === -1) throw new Error(`docs: the spec's description has no "${errorsHeading}" section for the problem types`);
  const end = nextHeading(lines, start + 1);
  return [lines.slice(0, end).join("\n").trimEnd(), ...added, lines.slice(end).join("\n")].filter(Boolean).join("\n\n");
}

/** The index of the next top-level heading from `from` on (a `# ` line outside a code fence), or the end. */
function nextHeading(lines: string[], from: number): number {
  let fenced = false;
  for (let i = from; i < lines.length; i++) {
    if (lines[i]!.startsWith("```")) fenced = !fenced;
    else if (!fenced && lines[i]!.startsWith("# ")) return i;
  }
  return lines.length;
}

/** The catalog of problem types (the ProblemType schema) as a table: type, status, meaning. */
function problemTypesSection(spec: Document): string {
  const rows = readProblemTypes(spec).map((type) => [problemTypeCode(type), String(type.status), cell(type.meaning)].join(" | "));
  return [
    "## Problem types",
    "Every `type` a Problem may carry, the one status it comes with, and what it means.",
    '<div class="problem-types">\n\n| Type | Status | Meaning |\n|---|---|---|\n' +
      rows.map((row) => `| ${row} |`).join("\n") +
      "\n\n</div>",
  ].join("\n\n");
}

/**
 * A type's URI as code that may break before its name and nowhere else (page.css keeps each part
 * on one line: a browser would break after any hyphen): all share the long `urn:instances-api:problem:`.
 */
function problemTypeCode({ type, name }: ProblemTypeDefinition): string {
  return `<code><span>${type.slice(0, -name.length)}</span><wbr><span>${name}</span></code>`;
}

/** Each error response's description ends with the problem types it may carry (its `x-problem-types`), by name. */
function listResponseProblemTypes(spec: Document): void {
  const names = new Map(readProblemTypes(spec).map(({ type, name }) => [type, name]));
  for (const response of Object.values(spec.components.responses ?? {}) as { description?: string }[]) {
    const types = problemTypesOf(response);
    if (!types.length) continue;
    const listed = types.map((type) => `\`${names.get(type) ?? type}\``).join(", ");
    response.description = `${response.description?.trimEnd() ?? ""}\n\nProblem types (under **Errors**): ${listed}.`;
  }
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
      entryKey(entry.key),
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
    '<div class="connector-entries">\n\n| Entry | Required | Secret | Default | Description |\n|---|---|---|---|---|\n' +
      rows.map((row) => `| ${row} |`).join("\n") +
      "\n\n</div>",
    platform.length ? `The platform adds: ${platform.join(", ")}.` : "The platform adds no entries of its own.",
    credentialCheckText(connector),
    "**Sample request**",
    "```json\n" + JSON.stringify(request, null, 2) + "\n```",
    "**Sample response** (the guide's, corrected; secrets masked as this server returns them)",
    "```json\n" + JSON.stringify(response, null, 2) + "\n```",
  ]
    .filter(Boolean)
    .join("\n\n");
}

/**
 * An entry's key as code that may break after each dot and nowhere else: the keys are long
 * (`event.notification.callback.url`) and a narrow column must not cut a word in two.
 */
function entryKey(key: string): string {
  return `<code>${key.split(".").map(escapeHtml).join(".<wbr>")}</code>`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** What the platform checks with the vendor when an instance is created (x-connector.credentialCheck). */
function credentialCheckText({ credentialCheck: check }: ConnectorDefinition): string {
  const statuses = (accepted: number[], refused: number[]) => `accepted on ${accepted.join(", ")}, refused on ${refused.join(", ")}`;
  const sandbox =
    "In the sandbox (`PROVISIONING=sandbox`, the reference server's default) the vendor is simulated: a secret entry `invalid-credentials` is refused (`422`), `vendor-unavailable` is unreachable (`502`).";
  if (check.type === "none") return `**Credential check**: none. ${check.reason}.`;
  if (check.type === "request") {
    const auth =
      check.auth.type === "basic"
        ? `HTTP basic authentication (\`${check.auth.username}\`, \`${check.auth.password}\`)`
        : check.auth.type === "bearer"
          ? `a bearer token (\`${check.auth.token}\`)`
          : check.auth.type === "header"
            ? `the header \`${check.auth.name}: ${check.auth.value}\``
            : `a JSON body \`${JSON.stringify(check.auth.json)}\``;
    return `**Credential check**: \`${check.method} ${check.url}\` with ${auth}; ${statuses(check.accepted, check.refused)}. ${sandbox}`;
  }
  const { tokens } = check;
  return [
    `**Credential check**: the OAuth 2.0 password grant, \`POST ${check.tokenUrl}\` with \`client_id\` = \`${check.clientId}\`, \`client_secret\` = \`${check.clientSecret}\`, \`username\`, \`password\`${
      check.parameters
        ? ` and ${Object.entries(check.parameters)
            .map(([k, v]) => `\`${k}\` = \`${v}\``)
            .join(", ")}`
        : ""
    }; ${statuses(check.accepted, check.refused)}.`,
    `The tokens it issues are kept in \`${tokens.accessToken}\` and \`${tokens.refreshToken}\` (secret: sealed, masked), their issue time (epoch ms) in \`${tokens.issuedAt}\`, and refreshed with the refresh-token grant before they expire: at the earlier of the vendor's \`expires_in\`${tokens.refreshInterval ? ` and \`${tokens.refreshInterval}\`` : ""}, less a tenth (at most five minutes). A refused refresh is followed by one new password grant from the stored credentials; refused too, the instance becomes \`valid: false\`, as it does once its token has expired. ${sandbox}`,
  ].join(" ");
}

/** Markdown table cell text: one line, no pipe breaking the row. */
function cell(text: string): string {
  return text.replace(/\s+/g, " ").replace(/\|/g, "\\|");
}
