// The built docs (npm run build): one self-contained page that mentions every connector, every
// operation and every configuration entry, with curl and TypeScript samples on every operation,
// every problem type the spec catalogues, and every event the spec's webhooks describe.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { problemTypesOf, readConnectors, readProblemTypes, readWebhooks, type SpecDocument } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { operationsOf } from "../src/docs-document.js";
import { docsDir } from "../src/index.js";
import { textOf } from "./html-text.js";

const html = readFileSync(new URL("index.html", `file://${docsDir}`), "utf8");
const document = JSON.parse(readFileSync(new URL("openapi.docs.json", `file://${docsDir}`), "utf8")) as Parameters<typeof operationsOf>[0];
const bundle = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;
const connectors = readConnectors(bundle);
const operations = operationsOf(document);
const problemTypes = readProblemTypes(bundle);

/** A top-level section of the description (`# Errors`), up to the next one. */
function section(heading: string): string {
  const description = document.info.description ?? "";
  const start = description.indexOf(`\n# ${heading}\n`);
  if (start === -1) throw new Error(`no # ${heading} section`);
  const end = description.indexOf("\n# ", start + 1);
  return description.slice(start, end === -1 ? undefined : end);
}

describe("the built docs", () => {
  it("load no script, style or font from the network", () => {
    const external = [...html.matchAll(/<(script|link)\b[^>]*\b(?:src|href)\s*=\s*["']?(https?:)?\/\/[^"'\s>]+/gi)].map((m) => m[0]);
    expect(external).toEqual([]);
    expect(html).not.toMatch(/@import\s+url\(\s*["']?https?:/i);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html.length).toBeGreaterThan(1_000_000); // Redoc itself is inlined
  });

  it("mention every connector and every one of its configuration entries", () => {
    expect(connectors).toHaveLength(5);
    for (const connector of connectors) {
      expect(html, connector.key).toContain(`## ${connector.catalog.name}`);
      // Each key as code that may break after a dot only (<wbr>), never inside a word.
      for (const entry of connector.entries)
        expect(document.info.description, `${connector.key} ${entry.key}`).toContain(`<code>${entry.key.split(".").join(".<wbr>")}</code>`);
    }
  });

  it("mention every operation, each with a curl and a TypeScript sample", () => {
    expect([...operations.keys()].sort()).toEqual([
      "createInstance",
      "createVendorHookEvent",
      "deleteInstance",
      "getConnector",
      "getCurrentInstance",
      "getInstance",
      "listConnectors",
      "listInstanceDeliveries",
      "listInstances",
      "listProxiedCalls",
      "proxyVendorDelete",
      "proxyVendorDeleteWithToken",
      "proxyVendorGet",
      "proxyVendorGetWithToken",
      "proxyVendorPatch",
      "proxyVendorPatchWithToken",
      "proxyVendorPost",
      "proxyVendorPostWithToken",
      "proxyVendorPut",
      "proxyVendorPutWithToken",
      "replaceInstance",
      "rotateInstanceToken",
      "sendTestEvent",
      "simulateVendorChange",
      "updateInstance",
      "verifyInstance",
    ]);
    for (const [operationId, operation] of operations) {
      expect(html, operationId).toContain(operationId);
      // An operation with several request examples has its samples in each of them instead
      // (test/example-samples.test.ts).
      const examples = (operation as { requestBody?: { content?: Record<string, { examples?: object }> } }).requestBody?.content?.[
        "application/json"
      ]?.examples;
      if (Object.keys(examples ?? {}).length > 1) {
        expect(operation["x-codeSamples"], operationId).toBeUndefined();
        for (const example of Object.values(examples!) as { description: string }[]) {
          expect(example.description, operationId).toMatch(/<pre class="highlighted-sample" data-language="bash">[\s\S]*<\/pre>/);
          expect(textOf(example.description), operationId).toMatch(/^curl /m);
          expect(textOf(example.description), operationId).toMatch(/^TypeScript:\n\nimport [\s\S]*createInstancesClient/m);
        }
        continue;
      }
      const samples = operation["x-codeSamples"] ?? [];
      expect(
        samples.map((s) => s.label),
        operationId,
      ).toEqual(["curl", "TypeScript"]);
      expect(samples[0]!.source).toMatch(/^curl /m); // after any comment or variable the command needs
      expect(samples[1]!.source).toMatch(/createInstancesClient/);
      expect(samples[1]!.source).not.toContain('from "./client.js"');
    }
  });

  it("carry every event under Webhooks, as the spec describes it, and show how to verify one with the client", () => {
    const webhooks = readWebhooks(bundle);
    expect(webhooks).toHaveLength(9);
    expect(readWebhooks(document as SpecDocument)).toEqual(webhooks);
    expect((document as { tags?: { name: string }[] }).tags?.map((tag) => tag.name)).toContain("Webhooks");
    for (const { eventType, operationId } of webhooks) {
      expect(html, eventType).toContain(`"${eventType}"`);
      expect(html, eventType).toContain(operationId);
    }
    expect(section("Events")).toContain('import { verifyEvent } from "@instances-api/client";');
    expect(section("Events")).toContain("**Webhooks**");
  });

  it("show the error format with the missing-entries example, in the Errors section (it sat under Events)", () => {
    expect(section("Errors")).toContain("## Example: missing configuration entries");
    expect(section("Events")).not.toContain("## Example");
    expect(html).toContain("freshservice is missing required configuration entries: password, subdomain");
  });

  it("list every catalogued problem type in the Errors section, with its status and meaning", () => {
    const errors = section("Errors");
    expect(errors).toContain("## Problem types");
    expect(problemTypes.length).toBeGreaterThanOrEqual(30);
    const rows = errors.split("\n").filter((line) => line.startsWith("| <code>"));
    expect(rows).toEqual(
      problemTypes.map(
        ({ name, status, meaning }) =>
          `| <code><span>urn:instances-api:problem:</span><wbr><span>${name}</span></code> | ${status} | ${meaning.replace(/\s+/g, " ")} |`,
      ),
    );
    // Rendered, each as a row of Redoc's table (the page is a megabyte: no diff of it on failure).
    for (const { name, status } of problemTypes)
      expect(html.includes(`<span>${name}</span></code></td><td>${status}</td>`), `${name} rendered with ${status}`).toBe(true);
  });

  it("name on each error response the problem types it may carry", () => {
    const responses = document.components.responses as Record<string, { description: string }>;
    const withTypes = Object.entries(responses).filter(([, response]) => problemTypesOf(response).length);
    expect(withTypes.length).toBeGreaterThan(10);
    for (const [name, response] of withTypes) {
      const names = problemTypesOf(response).map((type) => `\`${type.slice("urn:instances-api:problem:".length)}\``);
      expect(response.description, name).toMatch(new RegExp(`\\n\\nProblem types \\(under \\*\\*Errors\\*\\*\\): ${names.join(", ")}\\.$`));
    }
  });

  it("give each connector a table of its entries and its corrected sample response", () => {
    const freshservice = document.info.description!.split("## Freshservice Beta")[1]!.split("\n## ")[0]!;
    expect(freshservice).toContain("| <code>password</code> | yes | yes |  | The Freshservice agent's password. Required. Secret. |");
    expect(freshservice).toContain("**Sample response**");
    expect(freshservice).toContain('"id": 252');
    expect(freshservice).toContain('"password": "********"');
  });

  it("say for each connector what its credentials are checked against, and the sandbox's magic values", () => {
    const section = (name: string) => document.info.description!.split(`## ${name}`)[1]!.split("\n## ")[0]!;
    expect(section("Freshservice Beta")).toContain(
      "**Credential check**: `GET https://{subdomain}.freshservice.com/api/v2/agents/me` with HTTP basic authentication (`{username}`, `{password}`); accepted on 200, refused on 401, 403.",
    );
    expect(section("SugarCRM Beta")).toContain("the OAuth 2.0 password grant, `POST {oauth.token.url}`");
    expect(section("SugarCRM Beta")).toContain("`oauth.user.token` and `oauth.user.refresh_token` (secret: sealed, masked)");
    expect(section("QuickBooks Enterprise")).toContain(
      "**Credential check**: none. QuickBooks Enterprise talks to the platform through the QuickBooks Web Connector",
    );
    for (const connector of connectors) {
      const text = section(connector.catalog.name);
      expect(text, connector.key).toContain("**Credential check**");
      if (connector.credentialCheck.type !== "none") expect(text, connector.key).toContain("`invalid-credentials` is refused");
    }
  });
  it("show the servers box's descriptions without Markdown, which it shows as written (`npm start` had its backticks)", () => {
    const servers = (document as { servers?: { description?: string }[] }).servers ?? [];
    expect(servers.length).toBeGreaterThan(0);
    for (const { description } of servers) expect(description).not.toMatch(/[`*_[\]]/);
    const shown = [...html.matchAll(/data-testid="server-panel-item-name"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(shown.sort()).toEqual(servers.map((server) => server.description).sort());
  });

  it("give every curl sample -s, the server as $API, and a key that needs no uuidgen", () => {
    const text = JSON.stringify(document);
    expect(text).not.toContain("uuidgen");
    const samples = [...operations.values()].flatMap((operation) => {
      const own = (operation["x-codeSamples"] ?? []).map((sample) => sample.source);
      const examples = Object.values(operation.requestBody?.content?.["application/json"]?.examples ?? {});
      return [...own, ...examples.map((example) => textOf(example.description ?? ""))];
    });
    const curls = [document.info.description ?? "", ...samples].flatMap((sample) =>
      sample.split("\n").filter((line) => /^\s*curl /.test(line)),
    );
    expect(curls.length).toBeGreaterThan(operations.size);
    for (const line of curls) expect(line).toMatch(/^\s*curl -s .*"\$API\//);
    for (const sample of samples) expect(sample).not.toContain("localhost:3000");
  });

  it("highlight the create samples as the other operations' (their Markdown fences were shown plain)", () => {
    const examples = Object.values(operations.get("createInstance")!.requestBody!.content!["application/json"]!.examples!);
    expect(examples.length).toBe(connectors.length);
    for (const { description } of examples) {
      expect(description).toContain('<pre class="highlighted-sample" data-language="bash"><code class="th-code th-code--shell"');
      expect(description).toContain('<pre class="highlighted-sample" data-language="typescript"><code class="th-code th-code--ts"');
      expect(description).not.toContain("```");
    }
  });
});
