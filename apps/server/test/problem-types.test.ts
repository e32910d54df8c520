// The server sends the problem types the spec catalogues (components/schemas/ProblemType.yaml),
// each with the status the catalog gives it, and each of them somewhere: the catalog has no dead
// entry. `problemType()` takes only a catalogued name (its parameter is typed by the catalog, so
// another does not compile); what the compiler cannot see is read from the source here: the
// status each name goes out with, beside it (`new ApiError(404, problemType("not-found"), ...)`,
// `super(409, problemType(...))`), or in the two tables that name types by status (the error
// handler's, for the libraries' errors, and server.ts's, for what Node's parser refuses). The
// proxy's routes come before the validator, whose response check never sees their Problems: the
// scan covers them as any other code. The test harness holds every Problem a test receives to the
// catalog too.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readProblemTypes } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { problemType } from "../src/errors.js";
import { loadBundledSpec } from "../src/spec.js";

const sourceDir = fileURLToPath(new URL("../src/", import.meta.url));
const catalog = readProblemTypes(loadBundledSpec());

interface Produced {
  where: string;
  name: string;
  status: number | undefined;
}

const sources = readdirSync(sourceDir, { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".ts"))
  .map((file) => ({ file: file.split(path.sep).join("/"), text: readFileSync(path.join(sourceDir, file), "utf8") }));

const lineOf = (text: string, index: number) => text.slice(0, index).split("\n").length;

/** `problemType("<name>")` in the source, with the status literal just before it when there is one. */
const literalCalls: Produced[] = sources.flatMap(({ file, text }) =>
  [...text.matchAll(/(?:\b([1-5]\d\d),\s*)?\bproblemType\("([^"]*)"\)/g)].map((m) => ({
    where: `${file}:${lineOf(text, m.index)}`,
    name: m[2]!,
    status: m[1] === undefined ? undefined : Number(m[1]),
  })),
);

/** `problemType(<expression>)`: a name the scan cannot read where it is called. */
const computedCalls = sources.flatMap(({ file, text }) =>
  [...text.matchAll(/\bproblemType\((?!")([^)]*)\)/g)]
    .filter((m) => !/^\w+: \w+$/.test(m[1]!)) // the definition's own parameter
    .map((m) => `${file}: problemType(${m[1]})`),
);

function sourceOf(file: string): string {
  const found = sources.find((source) => source.file === file);
  if (!found) throw new Error(`no src/${file}`);
  return found.text;
}

/** The error handler's table: `<status>: ["<name>", "<title>", "<message>"]`. */
const handlerTable: Produced[] = [...sourceOf("http/error-handler.ts").matchAll(/^\s*(\d{3}): \["([a-z-]+)",/gm)].map((m) => ({
  where: "http/error-handler.ts titles",
  name: m[2]!,
  status: Number(m[1]),
}));

/** server.ts's answers to what Node's HTTP parser refuses: `[<status>, "<title>", "<name>", "<message>"]`. */
const parserTable: Produced[] = [...sourceOf("server.ts").matchAll(/\[\s*(\d{3}),\s*"[^"]*",\s*"([a-z-]+)",/g)].map((m) => ({
  where: "server.ts clientErrorAnswers",
  name: m[2]!,
  status: Number(m[1]),
}));

const produced = [...literalCalls, ...handlerTable, ...parserTable];

describe("the problem types the server sends", () => {
  it("are named where they are sent, or in one of the two tables read here", () => {
    expect(literalCalls.length).toBeGreaterThan(25);
    expect(handlerTable.map((p) => p.status)).toEqual(expect.arrayContaining([400, 404, 500]));
    expect(parserTable.map((p) => p.name).sort()).toEqual(["headers-too-large", "malformed-http", "request-timeout"]);
    expect(computedCalls.sort()).toEqual([
      "http/error-handler.ts: problemType(name)", // internalError(): titles[500]
      "http/error-handler.ts: problemType(name)", // fromHttpError(): titles[status]
      "server.ts: problemType(name)", // answerClientError(): clientErrorAnswers
    ]);
  });

  it("each go out with their status written beside them", () => {
    expect(literalCalls.filter((call) => call.status === undefined).map((call) => `${call.where} ${call.name}`)).toEqual([]);
  });

  it("are all catalogued, each with the catalog's status", () => {
    const statusOf = new Map(catalog.map((t) => [t.name, t.status]));
    const wrong = produced
      .filter(({ name, status }) => statusOf.get(name) !== status)
      .map(({ where, name, status }) => `${where}: ${status} ${name} (the catalog: ${statusOf.get(name) ?? "none"})`);
    expect(wrong).toEqual([]);
  });

  it("leave no catalogued type unsent", () => {
    const sent = new Set(produced.map((p) => p.name));
    expect(catalog.filter((t) => !sent.has(t.name)).map((t) => t.name)).toEqual([]);
  });

  it("are URIs of the catalog, and a name outside it does not compile", () => {
    expect(problemType("not-found")).toBe("urn:instances-api:problem:not-found");
    // The typecheck (tsc over test/) fails if this compiles: the parameter is the catalog's names.
    // @ts-expect-error: "no-such-type" is not a catalogued problem type
    expect(catalog.map((t) => t.type)).not.toContain(problemType("no-such-type"));
  });
});
