// Response validation's safety net: a response that breaks the spec (here: a 404 on an operation
// whose copy of the spec documents none, or a Problem whose type its copy does not catalogue) is
// answered with a 500 Problem, never Express's HTML page with a stack trace, and logged. And the
// libraries' errors go out with the type of their status, or as a 400: never under another's.
import type { AddressInfo } from "node:net";
import express from "express";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { errorHandler } from "../../src/http/error-handler.js";
import { requestLogging } from "../../src/http/request-logging.js";
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

describe("a Problem whose type the spec does not catalogue", () => {
  it("breaks the spec: the response check answers a 500 in its place", async () => {
    const spec = loadBundledSpec();
    const problemType = spec.components.schemas.ProblemType as { enum: string[] };
    problemType.enum = problemType.enum.filter((type) => type !== "urn:instances-api:problem:not-found");
    const t = await startTestServer({ spec });
    try {
      const response = await t.api("/instances/424242");
      expect(response.status).toBe(500);
      expect(await body(response)).toMatchObject({ status: 500, type: "urn:instances-api:problem:internal" });
      expect(t.rawLogs()).toContain("a response broke the spec");
    } finally {
      await t.stop();
    }
  });
});

describe("a library's error", () => {
  it.each([
    ["of a status the handler names", 412, 412, "urn:instances-api:problem:precondition-failed"],
    [
      "of a status it does not name, as a 400 (a type goes out with its own status only)",
      418,
      400,
      "urn:instances-api:problem:invalid-request",
    ],
  ])("%s", async (_name, raised, status, type) => {
    const app = express();
    app.use(requestLogging(pino({ level: "silent" })));
    app.get("/raised", (_req, _res, next) => next(Object.assign(new Error("Raised"), { status: raised })));
    app.use(errorHandler());
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/raised`);
      expect(response.status).toBe(status);
      expect(await body(response)).toMatchObject({ status, type });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
