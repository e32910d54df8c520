// The house style in redocly.yaml is checked the way `npm run lint` checks the spec: Redocly's
// lint, with this folder's redocly.yaml, run on a small document. Summaries and titles in Title
// Case fail; sentence case passes, proper nouns and acronyms included. Every scalar property
// needs an example. The receiver operations' rules (a webhook per event type, README.md's
// "Events") are checked the same way, with Spectral for the ones in .spectral.yaml.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";

const config = fileURLToPath(new URL("../redocly.yaml", import.meta.url));
const spectralRuleset = fileURLToPath(new URL("../.spectral.yaml", import.meta.url));
const require = createRequire(import.meta.url);
const redocly = path.join(path.dirname(require.resolve("@redocly/cli/package.json")), "bin", "cli.js");
const spectral = path.join(path.dirname(require.resolve("@stoplight/spectral-cli/package.json")), "dist", "index.js");

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

describe("the spec's house style (redocly.yaml)", { timeout: 60_000 }, () => {
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

interface ReceiverOperation {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  security?: unknown[];
  parameters: { name: string; in: string; required: boolean; description: string; schema: object }[];
  requestBody?: { required: boolean; content: Record<string, { schema: object; examples?: object }> };
  responses: Record<string, { description: string }>;
}
interface Webhook {
  post: ReceiverOperation;
  get?: Omit<ReceiverOperation, "requestBody">;
}
interface WebhookDocument {
  paths: Record<string, { post: { operationId: string } }>;
  webhooks: Record<string, Webhook>;
}
type Change = (webhook: Webhook, document: WebhookDocument) => void;

/** A document with one webhook as the house rules want it (and one path, to show their rules apart), changed by `change`. */
function webhookDocument(change: Change = () => {}): object {
  const header = (name: string) => ({
    name,
    in: "header",
    required: true,
    description: "A header.",
    schema: { type: "string", maxLength: 100 },
  });
  const webhook: Webhook = {
    post: {
      operationId: "receiveThingMade",
      summary: "A thing was made",
      description: "Sent when a thing is made.",
      tags: ["Things"],
      security: [],
      parameters: ["webhook-id", "webhook-timestamp", "webhook-signature"].map(header),
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: { $ref: "#/components/schemas/Thing" },
            examples: { made: { summary: "A thing", value: { p0: "x" } } },
          },
        },
      },
      responses: { "2XX": { description: "Delivered." }, "410": { description: "Ended." }, default: { description: "Retried." } },
    },
  };
  const doc = { ...(document(["List things"], ["Name"], true) as WebhookDocument), webhooks: { "thing.made": webhook } };
  change(webhook, doc);
  return doc;
}

/** The rules Spectral's run with .spectral.yaml finds broken in `doc` (only this spec's own, not the rulesets it extends). */
function spectralLint(doc: object): string[] {
  const file = path.join(dir, "openapi.json");
  writeFileSync(file, JSON.stringify(doc));
  const output = (() => {
    try {
      return execFileSync(process.execPath, [spectral, "lint", file, "--ruleset", spectralRuleset, "--format", "json", "--quiet"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch (error) {
      return (error as { stdout: string }).stdout;
    }
  })();
  return (JSON.parse(output) as { code: string }[]).map((p) => p.code).filter((code) => code.startsWith("webhook-"));
}

// Each case runs the linters' command lines (a Node start-up and a bundle each): on a busy machine
// one takes seconds, so a case gets a minute rather than the suite's 20 s.
describe("the receiver operations' house rules (redocly.yaml, .spectral.yaml)", { timeout: 60_000 }, () => {
  it("pass a webhook named by its event type, one POST received, signed, with the answers the server acts on", () => {
    expect(lint(webhookDocument())).toEqual([]);
    expect(spectralLint(webhookDocument())).toEqual([]);
  });

  it.each<[string, Change, string]>([
    ["a name that is not an event type", (w, d) => (d.webhooks = { ThingMade: w }), "rule/webhook-named-by-event-type"],
    ["an operationId that is not receive...", (w) => (w.post.operationId = "createThingMade"), "rule/webhook-operation-id-receive"],
    ["a webhook with the API's security", (w) => delete w.post.security, "rule/webhook-no-security"],
    ["a webhook with a security requirement", (w) => (w.post.security = [{ Things: [] }]), "rule/webhook-no-security"],
    ["a method beside POST", (w) => (w.get = { ...w.post, operationId: "receiveThingMadeAgain" }), "rule/webhook-post-only"],
    ["no 410 answer", (w) => delete w.post.responses["410"], "rule/webhook-answers"],
    ["no default answer", (w) => delete w.post.responses.default, "rule/webhook-answers"],
    ["an optional body", (w) => (w.post.requestBody!.required = false), "rule/webhook-request-body-required"],
  ])("refuse %s", (_case, change, ruleId) => {
    expect(lint(webhookDocument(change)).map((p) => p.ruleId)).toContain(ruleId);
  });

  it("keep the API's operationIds verb-first, and receive for webhooks only", () => {
    const problems = lint(webhookDocument((_w, d) => (d.paths["/things0"]!.post.operationId = "receiveThings")));
    expect(problems.map((p) => [p.ruleId, p.location[0]!.pointer])).toEqual([
      ["rule/operation-id-verb-first", "#/paths/~1things0/post/operationId"],
    ]);
  });

  it.each<[string, Change, string]>([
    ["a missing Standard Webhooks header", (w) => w.post.parameters.pop(), "webhook-standard-headers"],
    ["an optional Standard Webhooks header", (w) => (w.post.parameters[0]!.required = false), "webhook-standard-headers"],
    [
      "an event that is not JSON",
      (w) => (w.post.requestBody!.content = { "text/plain": w.post.requestBody!.content["application/json"]! }),
      "webhook-json-event",
    ],
    ["an event without an example", (w) => delete w.post.requestBody!.content["application/json"]!.examples, "webhook-json-event"],
  ])("refuse %s (Spectral)", (_case, change, code) => {
    expect(spectralLint(webhookDocument(change))).toEqual([code]);
  });
});
