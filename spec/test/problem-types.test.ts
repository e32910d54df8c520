// The catalog of problem types (components/schemas/ProblemType.yaml): every Problem's `type` is one
// of it, each type has one status, and each error response (components/responses) lists exactly
// the types of the status it answers with. The server's tests hold its code to the same catalog.
import { partsOf, problemTypesOf, readProblemTypes } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { bundle, resolve, validate } from "./bundle.js";

const catalog = readProblemTypes(bundle);
const responses = bundle.components.responses as Record<string, Record<string, unknown>>;
const methods = ["get", "put", "post", "patch", "delete"];

/** The statuses each components/responses entry answers with, across every operation. */
function statusesOfResponses(): Map<string, Set<number>> {
  const statuses = new Map<string, Set<number>>();
  for (const item of Object.values(bundle.paths)) {
    for (const method of methods.filter((m) => m in item)) {
      const operation = item[method] as { responses: Record<string, { $ref?: string }> };
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!response.$ref) continue;
        const name = partsOf(response.$ref).at(-1)!;
        statuses.set(name, (statuses.get(name) ?? new Set()).add(Number(status)));
      }
    }
  }
  return statuses;
}

const problemResponses = Object.entries(responses).filter(
  ([, response]) => "application/problem+json" in ((response.content as object) ?? {}),
);

describe("the problem type catalog", () => {
  it("names every type the server sends, each once, ordered by status", () => {
    expect(catalog.length).toBeGreaterThanOrEqual(30);
    expect(new Set(catalog.map((t) => t.type)).size).toBe(catalog.length);
    const statuses = catalog.map((t) => t.status);
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b));
  });

  it("is what a Problem's type may be: a type outside it breaks the spec", () => {
    const problem = { type: catalog[0]!.type, title: "Invalid request", status: 400, message: "m", requestId: "r" };
    expect(validate("#/components/schemas/Problem", problem)).toEqual([]);
    const errors = validate("#/components/schemas/Problem", { ...problem, type: "urn:instances-api:problem:no-such-type" });
    expect(errors.map((e) => e.keyword)).toEqual(["enum"]);
  });

  it("gives each error response the types of its one status, and no other", () => {
    const statuses = statusesOfResponses();
    expect(problemResponses.length).toBeGreaterThan(10);
    for (const [name, response] of problemResponses) {
      const answered = [...(statuses.get(name) ?? [])];
      expect(answered, `${name} answers with one status`).toHaveLength(1);
      const listed = problemTypesOf(response);
      expect(listed, name).toEqual(catalog.filter((t) => t.status === answered[0]).map((t) => t.type));
    }
  });

  it("leaves out of the responses only what is answered before any operation is known", () => {
    const listed = new Set(problemResponses.flatMap(([, response]) => problemTypesOf(response)));
    expect(catalog.filter((t) => !listed.has(t.type)).map((t) => `${t.status} ${t.name}`)).toEqual([
      "405 method-not-allowed", // the path has no operation for the method
      "408 request-timeout", // Node's HTTP parser, before routing
      "431 headers-too-large", // Node's HTTP parser, before routing
    ]);
  });

  it("has every Problem example in the spec carry the status of its type, and a type its response lists", () => {
    const examples = problemResponses.flatMap(([name, response]) => {
      const media = (response.content as Record<string, { examples?: Record<string, unknown> }>)["application/problem+json"]!;
      return Object.entries(media.examples ?? {}).map(([example, value]) => ({
        where: `${name} ${example}`,
        listed: problemTypesOf(response),
        problem: resolve<{ value: { type: string; status: number } }>(value).value,
      }));
    });
    expect(examples.length).toBeGreaterThan(0);
    for (const { where, listed, problem } of examples) {
      expect(listed, where).toContain(problem.type);
      expect(problem.status, where).toBe(catalog.find((t) => t.type === problem.type)?.status);
    }
  });
});
