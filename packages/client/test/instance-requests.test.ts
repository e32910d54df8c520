// createInstance, replaceInstance and updateInstance: a body is checked against its own
// connector's request, so the compile error names that connector's entry (and suggests the
// closest one for a misspelling), where `client.POST` names another connector's. The spec's create
// examples (all five connectors) are the fixtures; the spec says which entries are required.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { readConnectors, readCreateExamples, type SpecDocument } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { createInstance, createInstancesClient, replaceInstance, updateInstance } from "../src/index.js";
import { compile } from "./compile.js";

type JsonObject = { [key: string]: unknown };
const spec = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;
const examples = readCreateExamples(spec);
const connectors = new Map(readConnectors(spec).map((c) => [c.key, c]));
const header = `import { createInstance, replaceInstance, updateInstance, type CreatedInstance, type CreateInstanceRequestOf, type InstancesClient } from "@instances-api/client";
declare const client: InstancesClient;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
`;
/** A value as a user writes it in TypeScript: JSON, with names that are identifiers unquoted. */
function json(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(json).join(", ")}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  return `{ ${Object.entries(value)
    .map(([k, v]) => `${quoted(k)}: ${json(v)}`)
    .join(", ")} }`;
}

function entriesOf(key: string) {
  const connector = connectors.get(key);
  if (!connector) throw new Error(`the spec has no connector ${key}`);
  return connector.entries;
}
function withConfiguration(body: JsonObject, change: (configuration: JsonObject) => void): JsonObject {
  const copy = structuredClone(body);
  change(copy.configuration as JsonObject);
  return copy;
}
/** How TypeScript quotes a property name in a message: `subdomain`, or `"site.url"`. */
function quoted(entry: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(entry) ? entry : `"${entry}"`;
}
/** A misspelling: the name's last two letters swapped (`subdomain` → `subdomani`). */
function misspelled(entry: string): string {
  return `${entry.slice(0, -2)}${entry.at(-1)}${entry.at(-2)}`;
}

/** An entry's name in a message, on its own (`username`, not the end of `messaging.sms.infobip.username`). */
function entryName(entry: string): RegExp {
  return new RegExp(`(^|[^\\w.])${entry.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([^\\w.]|$)`);
}

const sources: Record<string, string> = {};
const mustCompile: string[] = [];
const mustNotCompile: [name: string, reason: RegExp, notNaming: string[]][] = [];
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

for (const { key, body: example } of examples) {
  const body = example as unknown as JsonObject;
  const entries = entriesOf(key);
  const own = new Set(entries.map((e) => e.key));
  // Entries of other connectors that this one does not have: an error about this connector's
  // body that names one of them is about the wrong connector.
  const others = [...connectors.values()].flatMap((c) => c.entries.map((e) => e.key)).filter((e) => !own.has(e));

  sources[`${key}-create`] = `${header}export const r = createInstance(client, ${json(body)});\n`;
  sources[`${key}-replace`] = `${header}export const r = replaceInstance(client, 1, ${json(body)});\n`;
  sources[`${key}-update-every-entry`] =
    `${header}export const r = updateInstance(client, 1, "${key}", { configuration: ${json(body.configuration)} });\n`;
  mustCompile.push(`${key}-create`, `${key}-replace`, `${key}-update-every-entry`);

  for (const entry of entries) {
    const name = quoted(entry.key);
    if (entry.required) {
      const without = withConfiguration(body, (c) => delete c[entry.key]);
      for (const [call, source] of [
        ["create", `createInstance(client, ${json(without)})`],
        ["replace", `replaceInstance(client, 1, ${json(without)})`],
      ]) {
        sources[`${key}-${call}-without-${entry.key}`] = `${header}export const r = ${source};\n`;
        mustNotCompile.push([`${key}-${call}-without-${entry.key}`, new RegExp(`Property '${escape(name)}' is missing`), others]);
      }
      sources[`${key}-update-removing-${entry.key}`] =
        `${header}export const r = updateInstance(client, 1, "${key}", { configuration: { ${quoted(entry.key)}: null } });\n`;
      mustNotCompile.push([`${key}-update-removing-${entry.key}`, /Type 'null' is not assignable/, others]);
    } else {
      sources[`${key}-update-removing-${entry.key}`] =
        `${header}export const r = updateInstance(client, 1, "${key}", { configuration: { ${quoted(entry.key)}: null } });\n`;
      mustCompile.push(`${key}-update-removing-${entry.key}`);
    }

    // A misspelled entry: TypeScript suggests the right one where the name is an identifier
    // (`subdomain`); a quoted name (`"site.url"`) is named as unknown, in a type that lists the right one.
    const typo = misspelled(entry.key);
    const suggestion = new RegExp(`'${escape(typo)}' does not exist in type '[^']*'\\. Did you mean to write '${escape(entry.key)}'\\?`);
    const identifier = name === entry.key;
    const misspelledBody = withConfiguration(body, (c) => {
      c[typo] = c[entry.key] ?? "x";
      delete c[entry.key];
    });
    sources[`${key}-create-misspelling-${entry.key}`] = `${header}export const r = createInstance(client, ${json(misspelledBody)});\n`;
    sources[`${key}-update-misspelling-${entry.key}`] =
      `${header}export const r = updateInstance(client, 1, "${key}", { configuration: { ${quoted(typo)}: "x" } });\n`;
    // The type listed after it names the right entry, unless TypeScript cut a long type short: at
    // its end ("...'") or in its middle ("... 8 more ...").
    const unknownInCreate = new RegExp(
      `'"${escape(typo)}"' does not exist in type '[^']*(${escape(name)}|\\.\\.\\.'|\\.\\.\\. \\d+ more \\.\\.\\.)`,
    );
    const unknownInUpdate = new RegExp(`'"${escape(typo)}"' does not exist in type 'ConfigurationPatchOf<"${key}">'`);
    mustNotCompile.push([`${key}-create-misspelling-${entry.key}`, identifier ? suggestion : unknownInCreate, others]);
    mustNotCompile.push([`${key}-update-misspelling-${entry.key}`, identifier ? suggestion : unknownInUpdate, others]);
  }

  const foreign = others[0]!;
  sources[`${key}-update-foreign-entry`] =
    `${header}export const r = updateInstance(client, 1, "${key}", { configuration: { ${quoted(foreign)}: "x" } });\n`;
  mustNotCompile.push([
    `${key}-update-foreign-entry`,
    new RegExp(`'${escape(quoted(foreign))}' does not exist in type 'ConfigurationPatchOf<"${key}">'`),
    [],
  ]);
}

const freshservice = examples.find((e) => e.key === "freshservice")!.body as unknown as JsonObject;
const noSubdomain = withConfiguration(freshservice, (c) => delete c.subdomain);

// Why these functions exist: the same body through client.POST gets an error about another connector.
sources["post-without-subdomain"] = `${header}export const r = client.POST("/instances", { body: ${json(noSubdomain)} });\n`;

sources["create-token-without-idempotency-key"] = `${header}export async function f(signal: AbortSignal) {
  const { data, error } = await createInstance(client, ${json(freshservice)});
  if (error) return error.message;
  const again = await createInstance(client, ${json(freshservice)}, { signal });
  const token: string = data.token;
  const masked: "********" | undefined = data.configuration?.password;
  return [token, masked, again.data?.token satisfies string | undefined];
}
`;
mustCompile.push("create-token-without-idempotency-key");

// With a key, a retry of a changed instance answers without a token: the type says so.
sources["create-token-with-idempotency-key"] = `${header}export async function f() {
  const { data, error } = await createInstance(client, ${json(freshservice)}, { params: { header: { "Idempotency-Key": crypto.randomUUID() } } });
  if (error) return error.message;
  const token: string = data.token;
  return token;
}
`;
mustNotCompile.push(["create-token-with-idempotency-key", /Type 'string \| undefined' is not assignable to type 'string'/, []]);

sources["create-returns-what-post-returns"] = `${header}const body: CreateInstanceRequestOf<"freshservice"> = ${json(freshservice)};
const options = { params: { header: { "Idempotency-Key": "k" } } };
export const same: Same<ReturnType<typeof create>, ReturnType<typeof post>> = true;
function create() { return createInstance(client, body, options); }
function post() { return client.POST("/instances", { body, ...options }); }
`;
mustCompile.push("create-returns-what-post-returns");

sources["replace-returns-what-put-returns"] = `${header}const body: CreateInstanceRequestOf<"freshservice"> = ${json(freshservice)};
export const same: Same<ReturnType<typeof replace>, ReturnType<typeof put>> = true;
function replace() { return replaceInstance(client, 1, body, { params: { header: { "If-Match": '"1"' } } }); }
function put() { return client.PUT("/instances/{id}", { params: { path: { id: 1 }, header: { "If-Match": '"1"' } }, body }); }
`;
mustCompile.push("replace-returns-what-put-returns");

sources["update-returns-what-patch-returns"] =
  `${header}export const same: Same<ReturnType<typeof update>, ReturnType<typeof patch>> = true;
function update() { return updateInstance(client, 1, "freshservice", { name: "n" }); }
function patch() { return client.PATCH("/instances/{id}", { params: { path: { id: 1 } }, body: { name: "n" } }); }
`;
mustCompile.push("update-returns-what-patch-returns");

sources["rotation-answers-a-token"] = `${header}export async function f() {
  const { data, error } = await client.POST("/instances/{id}/token", { params: { path: { id: 1 } } });
  if (error) return error.message;
  const created: CreatedInstance = data;
  const token: string = data.token;
  const masked: "********" | undefined = data.configuration?.password;
  return [created, token, masked];
}
`;
mustCompile.push("rotation-answers-a-token");

sources["created-instance-secrets-masked"] =
  `${header}declare const created: CreatedInstance;\nexport const secret: "hunter2" | undefined = created.configuration?.password;\n`;
mustNotCompile.push(["created-instance-secrets-masked", /Type '"\*\*\*\*\*\*\*\*"' is not assignable to type '"hunter2"'/, []]);

// A body built beforehand keeps its connector when typed as that connector's request.
sources["create-from-a-typed-variable"] = `${header}const body: CreateInstanceRequestOf<"freshservice"> = ${json(freshservice)};
export const r = createInstance(client, body);
`;
mustCompile.push("create-from-a-typed-variable");

sources["options-misspelled"] =
  `${header}export const r = createInstance(client, ${json(freshservice)}, { params: { header: { "Idempotency-Kye": "k" } } });\n`;
mustNotCompile.push(["options-misspelled", /'"Idempotency-Kye"' does not exist/, []]);

const diagnostics = compile(sources);

describe("createInstance, replaceInstance and updateInstance: types", () => {
  it.each(mustCompile)("%s compiles", (name) => {
    expect(diagnostics[name]).toEqual([]);
  });

  it.each(mustNotCompile)("%s does not compile, and the error names what is wrong", (name, reason, notNaming) => {
    const text = diagnostics[name]!.join("\n");
    expect(text).toMatch(reason);
    for (const other of notNaming) expect(text, `${name} names another connector's ${other}`).not.toMatch(entryName(other));
  });

  it("name the entry where client.POST names another connector's (the reason they exist)", () => {
    const viaPost = diagnostics["post-without-subdomain"]!.join("\n");
    const viaCreate = diagnostics["freshservice-create-without-subdomain"]!.join("\n");
    expect(viaPost).toMatch(/"oauth\.api\.key"|"api\.key"|"app\.name"|"messaging\.sms\.infobip\.sender"/);
    expect(viaCreate).toMatch(/Property 'subdomain' is missing/);
    expect(viaCreate).not.toMatch(/oauth\.api\.key/);
  });

  it("cover every connector, every entry, and suggest the right name for identifier entries", () => {
    expect(examples.map((e) => e.key).sort()).toEqual([...connectors.keys()].sort());
    expect(examples).toHaveLength(5);
    const suggested = mustNotCompile.filter(([, reason]) => reason.source.includes("Did you mean"));
    expect(suggested.map(([name]) => name)).toEqual(expect.arrayContaining(["freshservice-create-misspelling-subdomain"]));
  });
});

describe("createInstance, replaceInstance and updateInstance: requests", () => {
  function recordingClient(answer: unknown) {
    const requests: Request[] = [];
    const client = createInstancesClient({
      baseUrl: "http://127.0.0.1:9/your_moms/api-v2",
      userSecret: "user",
      organizationSecret: "organization",
      fetch: (request) => {
        requests.push(request);
        return Promise.resolve(Response.json(answer));
      },
    });
    return { client, requests };
  }
  const created = { id: 7, name: "Help desk", token: "t0k3n" };

  it("createInstance posts the body, with the Idempotency-Key given, and answers the response", async () => {
    const { client, requests } = recordingClient(created);
    const body = examples.find((e) => e.key === "freshservice")!.body as Parameters<typeof createInstance<"freshservice">>[1];
    const { data } = await createInstance(client, body, { params: { header: { "Idempotency-Key": "retry-1" } } });
    expect(data).toEqual(created);
    const [request] = requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("http://127.0.0.1:9/your_moms/api-v2/instances");
    expect(request?.headers.get("Idempotency-Key")).toBe("retry-1");
    expect(request?.headers.get("Authorization")).toBe("User user, Organization organization");
    expect(await request?.json()).toEqual(body);
  });

  it("replaceInstance puts the body at the id, with If-Match", async () => {
    const { client, requests } = recordingClient(created);
    const body = examples.find((e) => e.key === "taxify")!.body as Parameters<typeof replaceInstance<"taxify">>[2];
    await replaceInstance(client, 7, body, { params: { header: { "If-Match": '"3"' } } });
    const [request] = requests;
    expect([request?.method, request?.url, request?.headers.get("If-Match")]).toEqual([
      "PUT",
      "http://127.0.0.1:9/your_moms/api-v2/instances/7",
      '"3"',
    ]);
    expect(await request?.json()).toEqual(body);
  });

  it("updateInstance patches the id with the patch as given, removals (null) included", async () => {
    const { client, requests } = recordingClient(created);
    const patch = { name: "Help desk (prod)", configuration: { subdomain: "acme-prod", "event.notification.callback.url": null } };
    await updateInstance(client, 7, "freshservice", patch, { params: { header: { "If-Match": '"4"' } } });
    const [request] = requests;
    expect([request?.method, request?.url, request?.headers.get("If-Match")]).toEqual([
      "PATCH",
      "http://127.0.0.1:9/your_moms/api-v2/instances/7",
      '"4"',
    ]);
    expect(await request?.json()).toEqual(patch);
  });
});
