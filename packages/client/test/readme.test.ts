// The README's examples are the files in examples/, which `npm run typecheck` compiles: a README
// block that drifts from its file, or a file that stops compiling, fails the tests. The root
// README's first instance with the client is one of them too, and so is docs/events.md's receiver.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compile } from "./compile.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const examplesDir = new URL("../examples/", import.meta.url);
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith(".ts"))
  .sort();

describe("the README", () => {
  it("shows every example file, verbatim, and no other TypeScript", () => {
    const files = examples.map((f) => readFileSync(new URL(f, examplesDir), "utf8"));
    expect(blocks.length).toBe(files.length);
    for (const file of files) expect(blocks).toContain(file);
  });

  it("tells the truth about its first example's errors: leaving out subdomain, or misspelling it", () => {
    const quickStart = readFileSync(new URL("quick-start.ts", examplesDir), "utf8");
    expect(quickStart).toContain(', subdomain: "acme" }');
    const diagnostics = compile({
      without: quickStart.replace(', subdomain: "acme" }', " }"),
      misspelled: quickStart.replace(', subdomain: "acme" }', ', subdomian: "acme" }'),
    });
    expect(diagnostics.without!.join("\n")).toMatch(/Property 'subdomain' is missing/);
    expect(diagnostics.misspelled!.join("\n")).toMatch(/'subdomian' does not exist in type '[^']*'\. Did you mean to write 'subdomain'\?/);
  });

  it("is where the root README's TypeScript comes from: each of its blocks is an example file, verbatim", () => {
    const rootReadme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const rootBlocks = [...rootReadme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    const files = examples.map((f) => readFileSync(new URL(f, examplesDir), "utf8"));
    expect(rootBlocks.length).toBeGreaterThan(0);
    for (const block of rootBlocks) expect(files).toContain(block);
  });

  it("is where docs/events.md's TypeScript comes from: its receiver is an example file, verbatim", () => {
    const events = readFileSync(new URL("../../../docs/events.md", import.meta.url), "utf8");
    const eventBlocks = [...events.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(eventBlocks).toEqual([readFileSync(new URL("events.ts", examplesDir), "utf8")]);
  });

  it("has examples that compile against the client", () => {
    const sources = Object.fromEntries(examples.map((f) => [f.replace(/\.ts$/, ""), readFileSync(new URL(f, examplesDir), "utf8")]));
    const diagnostics = compile(sources);
    for (const name of Object.keys(sources)) expect(diagnostics[name], name).toEqual([]);
  });
});
