// Response validation's safety net: a response that breaks the spec (here: a 404 on an operation
// whose copy of the spec documents none) is answered with a 500 Problem, never Express's HTML page
// with a stack trace, and logged.
import { describe, expect, it } from "vitest";
import { loadBundledSpec } from "../../src/spec.js";
import { body, startTestServer } from "../harness.js";

describe("an error response that breaks the spec", () => {
  it("becomes a 500 Problem with no stack trace", async () => {
    const spec = loadBundledSpec();
    const paths = spec.paths as Record<string, { get: { responses: Record<string, unknown> } }>;
    delete paths["/instances/{id}"]!.get.responses["404"];
    const t = await startTestServer({ spec });
    try {
      const response = await t.api("/instances/424242");
      expect(response.status).toBe(500);
      expect(response.headers.get("Content-Type")).toBe("application/problem+json");
      const problem = await body(response);
      expect(problem).toMatchObject({ status: 500, type: "urn:instances-api:problem:internal" });
      expect(JSON.stringify(problem)).not.toMatch(/at .*\.js:\d+|<html/i);
      expect(t.rawLogs()).toContain("a response broke the spec");
    } finally {
      await t.stop();
    }
  });
});
