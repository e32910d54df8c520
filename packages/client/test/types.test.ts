// Type tests: the generated types make the spec's rules compile-time errors. Each case is a
// source compiled in memory against the client; the spec's own create examples (the guides'
// requests, filled in) are the fixtures, and the spec says which entries are required.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { readConnectors, readCreateExamples, type SpecDocument } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { compile } from "./compile.js";

type JsonObject = { [key: string]: unknown };
const spec = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;
const examples = readCreateExamples(spec);
const header =
  'import type { CreateInstanceRequest, ConfigurationOf, ConnectorKey, Instance, Problem, InstancesClient } from "@instances-api/client";\n';

function createRequestSource(body: unknown): string {
  return `${header}export const body: CreateInstanceRequest = ${JSON.stringify(body, null, 2)};\n`;
}

function withoutEntry(request: JsonObject, entry: string): JsonObject {
  const copy = structuredClone(request);
  delete (copy.configuration as JsonObject)[entry];
  return copy;
}

// Required entries per connector, as the spec says (its tests hold them equal to the guides' placeholders).
const requiredByConnector = Object.fromEntries(
  readConnectors(spec).map((c) => [c.key, c.entries.filter((e) => e.required).map((e) => e.key)]),
);

const sources: Record<string, string> = {};
const mustCompile: string[] = [];
const mustNotCompile: [name: string, reason: RegExp][] = [];

for (const { key, body } of examples) {
  const request = body as unknown as JsonObject;
  sources[`${key}-complete`] = createRequestSource(request);
  mustCompile.push(`${key}-complete`);
  sources[`${key}-configuration-of`] = `${header}export const c: ConfigurationOf<"${key}"> = ${JSON.stringify(request.configuration)};\n`;
  mustCompile.push(`${key}-configuration-of`);
  for (const entry of requiredByConnector[key] ?? []) {
    // In a whole create request the error points at `configuration` (TypeScript does not narrow a
    // union by a nested key, so its message may name another connector's entries) ...
    const name = `${key}-without-${entry}`;
    sources[name] = createRequestSource(withoutEntry(request, entry));
    mustNotCompile.push([name, /^at "?configuration"?: /]);
    // ... and in the connector's own configuration type it names the missing entry.
    const own = `${key}-configuration-of-without-${entry}`;
    sources[own] = `${header}export const c: ConfigurationOf<"${key}"> = ${JSON.stringify(withoutEntry(request, entry).configuration)};\n`;
    mustNotCompile.push([own, new RegExp(`Property '"?${entry.replace(/\./g, "\\.")}"?' is missing`)]);
  }
  const unknown = structuredClone(request);
  (unknown.configuration as JsonObject)["no.such.entry"] = "x";
  sources[`${key}-unknown-entry`] = createRequestSource(unknown);
  mustNotCompile.push([`${key}-unknown-entry`, /'"no\.such\.entry"' does not exist/]);
}

sources["unknown-connector"] = createRequestSource({ your_mom: { key: "freshdesk" }, configuration: {}, name: "x" });
mustNotCompile.push(["unknown-connector", /"freshdesk"' is not assignable to type/]);

sources["connector-keys"] =
  `${header}const keys: ConnectorKey[] = ["taxify", "quickbooksonprem", "infobip", "freshservice", "sugarcrmv2"];\nexport const wrong: ConnectorKey = "quickbooks";\nexport { keys };\n`;
mustNotCompile.push(["connector-keys", /"quickbooks"' is not assignable to type 'ConnectorKey'|"quickbooks"' is not assignable/]);

sources["response-fields"] = `${header}declare const i: Instance;
export const id: number = i.id;
export const name: string = i.name;
export const token: string | undefined = i.token;
export const key: string = i.your_mom.key;
export const catalogId: number = i.your_mom.id;
export const disabled: boolean = i.disabled;
export const configuration: Record<string, string | null> | undefined = i.configuration;
declare const p: Problem;
export const missing: string[] | undefined = p.missingEntries;
export const requestId: string = p.requestId;
`;
mustCompile.push("response-fields");

sources["secrets-masked-in-responses"] = `${header}declare const client: InstancesClient;
export async function f() {
  const { data } = await client.GET("/instances/{id}", { params: { path: { id: 1 } } });
  const masked: "********" | undefined = data?.configuration?.password;
  const plain: string | null | undefined = data?.configuration?.username;
  const listed = await client.GET("/instances");
  const alsoMasked: "********" | undefined = listed.data?.[0]?.configuration?.["oauth.api.secret"];
  return [masked, plain, alsoMasked];
}
`;
mustCompile.push("secrets-masked-in-responses");

sources["current-instance"] = `${header}declare const client: InstancesClient;
export async function f() {
  const { data, error } = await client.GET("/instance");
  if (error) return error.message;
  const instance: Instance = data;
  const masked: "********" | undefined = data.configuration?.password;
  return [instance.id, masked];
}
`;
mustCompile.push("current-instance");

sources["secrets-not-readable"] =
  `${header}declare const i: Instance;\nexport const secret: "hunter2" | undefined = i.configuration?.password;\n`;
mustNotCompile.push(["secrets-not-readable", /Type '"\*\*\*\*\*\*\*\*"' is not assignable to type '"hunter2"'/]);

sources["response-field-types"] = `${header}declare const i: Instance;\nexport const id: string = i.id;\n`;
mustNotCompile.push(["response-field-types", /Type 'number' is not assignable to type 'string'/]);

sources["typed-errors"] = `${header}declare const client: InstancesClient;
export async function f() {
  const { data, error } = await client.POST("/instances", { body: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "n" } });
  if (error) { const p: Problem = error; return p.status; }
  const token: string | undefined = data.token;
  return token;
}
`;
mustCompile.push("typed-errors");

sources["problem-types"] = `${header}import type { ProblemType } from "@instances-api/client";
declare const p: Problem;
export const type: ProblemType = p.type;
export const notFound: Problem["type"] = "urn:instances-api:problem:not-found";
export function retryable(problem: Problem): boolean {
  switch (problem.type) {
    case "urn:instances-api:problem:unavailable":
    case "urn:instances-api:problem:too-many-requests":
      return true;
    default:
      return false;
  }
}
`;
mustCompile.push("problem-types");

sources["problem-type-misspelt"] = `${header}export const type: Problem["type"] = "urn:instances-api:problem:not-fund";\n`;
mustNotCompile.push(["problem-type-misspelt", /"urn:instances-api:problem:not-fund"' is not assignable to type/]);

sources["problem-type-compared-to-an-uncatalogued-one"] =
  `${header}declare const p: Problem;\nexport function f() { if (p.type === "urn:instances-api:problem:nope") return 1; return 0; }\n`;
mustNotCompile.push(["problem-type-compared-to-an-uncatalogued-one", /This comparison appears to be unintentional/]);

sources["secrets-write-only"] = `${header}declare const client: InstancesClient;
export async function f() {
  const { data } = await client.GET("/your_moms/{key}", { params: { path: { key: "taxify" } } });
  // A connector's configuration entries are data, fine to read; a request type's secret is write-only:
  type TaxifyConfiguration = ConfigurationOf<"taxify">;
  const read: TaxifyConfiguration["api.key"] = "sent, never read back";
  return [data, read];
}
`;
mustCompile.push("secrets-write-only");

const eventHeader = `${header}import { verifyEvent, type InstanceEvent, type InstanceEventOf, type InstanceEventType } from "@instances-api/client";\n`;

sources["events-narrow-on-type"] = `${eventHeader}export function handle(event: InstanceEvent): string {
  switch (event.type) {
    case "instance.invalid": { const valid: false = event.data.valid; return String(valid); }
    case "instance.valid": { const valid: true = event.data.valid; return String(valid); }
    case "instance.test": { const test: true = event.test; return String(test); }
    case "vendor.record.created":
    case "vendor.record.updated": { const record: string = event.data.recordId; return [event.data.resource, record].join(" "); }
    default: {
      const id: number = event.data.id;
      const masked: "********" | undefined = event.data.configuration?.password;
      const at: string = event.timestamp;
      return [id, masked, at, event.data.your_mom.key].join(" ");
    }
  }
}
export const types: InstanceEventType[] = ["instance.created", "instance.updated", "instance.invalid", "instance.valid", "instance.token_rotated", "instance.test", "instance.deleted", "vendor.record.created", "vendor.record.updated"];
export const verified: InstanceEvent = verifyEvent("whsec_c2VjcmV0", { "webhook-id": "msg_1" }, new Uint8Array());
export const one: InstanceEventOf<"instance.deleted">["type"] = "instance.deleted";
`;
mustCompile.push("events-narrow-on-type");

sources["event-type-misspelt"] = `${eventHeader}export const type: InstanceEventType = "instance.create";\n`;
mustNotCompile.push([
  "event-type-misspelt",
  /"instance.create"' is not assignable to type 'InstanceEventType'|"instance.create"' is not assignable/,
]);

sources["event-type-compared-to-an-unknown-one"] =
  `${eventHeader}declare const e: InstanceEvent;\nexport const lost = e.type === "vendor.record.deleted";\n`;
mustNotCompile.push(["event-type-compared-to-an-unknown-one", /This comparison appears to be unintentional/]);

sources["event-invalid-is-not-valid"] =
  `${eventHeader}declare const e: InstanceEventOf<"instance.invalid">;\nexport const valid: true = e.data.valid;\n`;
mustNotCompile.push(["event-invalid-is-not-valid", /Type 'false' is not assignable to type 'true'/]);

sources["event-test-only-on-test-events"] =
  `${eventHeader}declare const e: InstanceEventOf<"instance.created">;\nexport const test = e.test;\n`;
mustNotCompile.push(["event-test-only-on-test-events", /Property 'test' does not exist/]);

sources["event-carries-no-token"] =
  `${eventHeader}declare const e: InstanceEventOf<"instance.updated">;\nexport const token: string = e.data.token;\nexport const secret: string = e.data.eventSigningSecret;\n`;
mustNotCompile.push(["event-carries-no-token", /Type 'undefined' is not assignable to type 'string'/]);

sources["event-secrets-masked"] =
  `${eventHeader}declare const e: InstanceEventOf<"instance.updated">;\nexport const secret: "hunter2" | undefined = e.data.configuration?.password;\n`;
mustNotCompile.push(["event-secrets-masked", /Type '"\*\*\*\*\*\*\*\*"' is not assignable to type '"hunter2"'/]);

const diagnostics = compile(sources);

describe("the client's types", () => {
  it.each(mustCompile)("%s compiles", (name) => {
    expect(diagnostics[name]).toEqual([]);
  });

  it.each(mustNotCompile)("%s does not compile", (name, reason) => {
    expect(diagnostics[name]?.length, name).toBeGreaterThan(0);
    expect(diagnostics[name]!.join("\n")).toMatch(reason);
  });

  it("covers every connector and every required entry", () => {
    expect(mustNotCompile.filter(([n]) => n.includes("-without-")).length).toBe(2 * Object.values(requiredByConnector).flat().length);
    expect(Object.values(requiredByConnector).flat().length).toBeGreaterThanOrEqual(12);
  });
});
