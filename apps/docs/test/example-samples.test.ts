// An operation with several request examples (a create: one per connector) carries its samples
// in each example, with that example's body; every generated TypeScript sample compiles against
// the typed client (and one with a missing entry does not, so the check checks).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SpecDocument } from "@instances-api/spec-tools";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { docsDocument, operationsOf } from "../src/docs-document.js";
import { withBody } from "../src/example-samples.js";
import { textOf } from "./html-text.js";
import { readSamples } from "../src/samples.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const bundle = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;
const document = docsDocument(bundle, readSamples);

type Examples = Record<string, { summary?: string; description?: string; value?: unknown }>;
const examplesOf = (operationId: string): Examples =>
  (operationsOf(document).get(operationId) as { requestBody: { content: { "application/json": { examples: Examples } } } }).requestBody
    .content["application/json"].examples;

/** The highlighted block of `lang` in an example's description, as text. */
function block(description: string | undefined, lang: string): string {
  const match = new RegExp(`<pre class="highlighted-sample" data-language="${lang}">([\\s\\S]*?)</pre>`).exec(description ?? "");
  if (!match) throw new Error(`no ${lang} block in ${description}`);
  return textOf(match[1]!);
}

// A folder inside the package, so that the samples resolve @instances-api/client as the docs' do;
// under node_modules, so that ESLint and Prettier (which may run meanwhile) never see it.
mkdirSync(path.join(packageDir, "node_modules"), { recursive: true });
const scratch = mkdtempSync(path.join(packageDir, "node_modules", ".samples-check-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The compiler's errors for these sources, checked with the package's own compiler options. */
function compileErrors(sources: Record<string, string>): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(packageDir, "tsconfig.json"),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  )!;
  const files = Object.entries(sources).map(([name, source]) => {
    const file = path.join(scratch, `${name}.ts`);
    writeFileSync(file, source);
    return file;
  });
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(path.resolve(d.file.fileName)))
    .map((d) => `${path.basename(d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
}

describe("samples per request example", () => {
  const multi = [...operationsOf(document)].filter(([, op]) => !op["x-codeSamples"]).map(([id]) => id);

  it("replace the operation's samples wherever its body has several examples (create: one per connector)", () => {
    expect(multi.sort()).toEqual(["createInstance", "updateInstance"]);
    expect(Object.keys(examplesOf("createInstance")).sort()).toEqual([
      "freshservice",
      "infobip",
      "quickbooksonprem",
      "sugarcrmv2",
      "taxify",
    ]);
  });

  it("give each example curl and TypeScript samples that send exactly its body", () => {
    for (const operationId of multi) {
      for (const [name, example] of Object.entries(examplesOf(operationId))) {
        const curl = block(example.description, "bash");
        const sent = /-d '([\s\S]*)'$/.exec(curl)?.[1];
        expect(JSON.parse(sent!), `${operationId} ${name} curl`).toEqual(example.value);
        expect(block(example.description, "typescript"), `${operationId} ${name}`).toContain("createInstancesClient");
      }
    }
    const sugar = examplesOf("createInstance").sugarcrmv2!;
    expect(block(sugar.description, "bash")).toContain('"key": "sugarcrmv2"');
    expect(block(sugar.description, "typescript")).toContain('"key": "sugarcrmv2"');
    expect(sugar.description).not.toContain("freshservice");
    // What the sample says besides its body stays: a new Idempotency-Key for every create.
    expect(block(sugar.description, "bash")).toContain('IDEMPOTENCY_KEY=$(node -e "console.log(crypto.randomUUID())")');
    expect(block(sugar.description, "typescript")).toContain("crypto.randomUUID()");
  });

  it("highlight each example's samples as Redoc highlights its own, not as a Markdown fence it shows plain", () => {
    for (const operationId of multi) {
      for (const [name, example] of Object.entries(examplesOf(operationId))) {
        expect(example.description, `${operationId} ${name}`).not.toContain("```");
        for (const [lang, kinds] of [
          ["bash", ["command", "string", "variable"]],
          ["typescript", ["keyword", "string", "function", "comment"]],
        ] as const) {
          const html = new RegExp(`<pre class="highlighted-sample" data-language="${lang}">[\\s\\S]*?</pre>`).exec(
            example.description!,
          )![0];
          for (const kind of kinds)
            expect(html, `${operationId} ${name} ${lang} ${kind}`).toContain(
              `<span class="th-token th-${kind}" style="color: var(--code-block-tokens-`,
            );
        }
      }
    }
  });

  it("compile every generated TypeScript sample, and refuse one whose body misses an entry", () => {
    const sources: Record<string, string> = {};
    for (const operationId of multi)
      for (const [name, example] of Object.entries(examplesOf(operationId)))
        sources[`${operationId}-${name}`] = block(example.description, "typescript");
    expect(compileErrors(sources)).toEqual([]);

    const freshservice = examplesOf("createInstance").freshservice!.value as { configuration: Record<string, string> };
    const { subdomain: _dropped, ...withoutSubdomain } = freshservice.configuration;
    const broken = withBody(readSamples("createInstance"), "createInstance", { ...freshservice, configuration: withoutSubdomain });
    expect(compileErrors({ broken: broken.typescript })).not.toEqual([]);
  }, 60_000);

  it("quote a body with an apostrophe for the shell", () => {
    const { curl } = withBody(readSamples("updateInstance"), "updateInstance", { name: "Bob's desk" });
    expect(curl).toContain(`-d '{"name": "Bob'\\''s desk"}'`);
  });

  it("name the sample file when it has no body to replace", () => {
    expect(() => withBody({ curl: "curl -X DELETE x", typescript: "" }, "deleteInstance", {})).toThrow(
      /samples\/deleteInstance\.sh sends no -d/,
    );
    expect(() => withBody({ curl: "curl -d '{}'", typescript: "await client.DELETE('/x', {});" }, "deleteInstance", {})).toThrow(
      /samples\/deleteInstance\.ts has no body object literal/,
    );
  });
});
