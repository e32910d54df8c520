// The house style in redocly.yaml is checked the way `npm run lint` checks the spec: Redocly's
// lint, with this folder's redocly.yaml, run on a small document. Summaries and titles in Title
// Case fail; sentence case passes, proper nouns and acronyms included. Every scalar property
// needs an example.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";

const config = fileURLToPath(new URL("../redocly.yaml", import.meta.url));
const redocly = path.join(path.dirname(createRequire(import.meta.url).resolve("@redocly/cli/package.json")), "bin", "cli.js");

const summaries = {
  sentenceCase: [
    "List instances",
    "Rotate an instance's token",
    "List QuickBooks Enterprise instances",
    "Get the OAuth callback URL of a SugarCRM instance",
  ],
  titleCase: ["List Instances", "Rotate An Instance's Token", "Get the callback Url", "Delete an instance (Forever)"],
};
const titles = {
  sentenceCase: ["Host IP", "OAuth callback URL", "API key", "Subdomain"],
  titleCase: ["Consumer Key", "Event Callback URL"],
};

/** A document with one operation per summary, and one string property per title (with or without an example). */
function document(operationSummaries: string[], propertyTitles: string[], withExamples: boolean): object {
  const properties = Object.fromEntries(
    propertyTitles.map((title, i) => [
      `p${i}`,
      { type: "string", title, description: "A value.", ...(withExamples ? { example: "x" } : {}) },
    ]),
  );
  const paths = Object.fromEntries(
    operationSummaries.map((summary, i) => [
      `/things${i}`,
      {
        post: {
          operationId: `createThing${"ABCDEFGH"[i]}`,
          summary,
          description: "Does it.",
          tags: ["Things"],
          requestBody: {
            content: {
              "application/json": {
                schema: { $ref: "#/components/schemas/Thing" },
                examples: { one: { summary: operationSummaries[i], value: withExamples ? { p0: "x" } : {} } },
              },
            },
          },
          responses: { "204": { description: "Done." }, "400": { description: "Bad." } },
        },
      },
    ]),
  );
  return {
    openapi: "3.1.0",
    info: { title: "Things", version: "1", description: "Things.", license: { name: "MIT", identifier: "MIT" } },
    servers: [{ url: "https://api.example.org" }],
    security: [],
    tags: [{ name: "Things", description: "Things." }],
    paths,
    components: { schemas: { Thing: { title: "Thing", type: "object", description: "A thing.", properties } } },
  };
}

interface Problem {
  ruleId: string;
  location: { pointer: string }[];
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "spec-house-style-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(doc: object): Problem[] {
  const file = path.join(dir, "openapi.yaml");
  writeFileSync(file, stringify(doc));
  const output = (() => {
    try {
      return execFileSync(process.execPath, [redocly, "lint", file, "--config", config, "--format", "json"], {
        encoding: "utf8",
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch (error) {
      return (error as { stdout: string }).stdout; // exit code 1 when there are errors
    }
  })();
  return (JSON.parse(output) as { problems: Problem[] }).problems;
}

describe("the spec's house style (redocly.yaml)", () => {
  it("passes sentence case, proper nouns and acronyms included, with examples on every scalar property", () => {
    expect(lint(document(summaries.sentenceCase, titles.sentenceCase, true))).toEqual([]);
  });

  it("refuses Title Case in operation summaries, example summaries and titles", () => {
    const problems = lint(document(summaries.titleCase, titles.titleCase, true));
    const where = (ruleId: string) =>
      problems
        .filter((p) => p.ruleId === ruleId)
        .map((p) => p.location[0]!.pointer)
        .sort();
    expect(where("rule/summary-sentence-case")).toEqual(summaries.titleCase.map((_, i) => `#/paths/~1things${i}/post/summary`));
    expect(where("rule/example-summary-sentence-case")).toHaveLength(summaries.titleCase.length);
    expect(where("rule/title-sentence-case")).toEqual([
      "#/components/schemas/Thing/properties/p0/title",
      "#/components/schemas/Thing/properties/p1/title",
    ]);
    expect(problems.filter((p) => !p.ruleId.endsWith("sentence-case"))).toEqual([]);
  });

  it("asks for an example on every scalar property", () => {
    const problems = lint(document(summaries.sentenceCase, titles.sentenceCase, false));
    expect(problems.map((p) => p.ruleId)).toEqual(titles.sentenceCase.map(() => "scalar-property-missing-example"));
  });
});
