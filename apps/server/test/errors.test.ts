// Errors stay small whatever the request: lists cut to 20 with a total, echoes and messages cut
// by characters (never through a surrogate pair), so even the worst case renders under 64 kB.
import { describe, expect, it } from "vitest";
import { UnknownConfigurationError } from "../src/connectors/errors.js";
import { type ApiError, cut, echo, invalidPart, InvalidRequestError } from "../src/errors.js";

/** The Problem body the error handler renders from an error, as JSON. */
function rendered(error: ApiError): string {
  return JSON.stringify({
    type: error.problemType,
    title: error.title,
    status: error.status,
    detail: error.message,
    message: error.message,
    requestId: "r".repeat(36),
    ...error.fields,
  });
}

describe("an error's lists", () => {
  it("hold their first 20 items and the total", () => {
    const parts = Array.from({ length: 30 }, (_, i) => invalidPart(`/body/x${i}`, "is wrong"));
    const error = new InvalidRequestError("bad", parts);
    expect(error.fields.errors).toEqual(parts.slice(0, 20));
    expect(error.fields.errorsTotal).toBe(30);
  });

  it("say no total when nothing was cut", () => {
    const error = new InvalidRequestError("bad", [invalidPart("/body/x", "is wrong")]);
    expect(error.fields).not.toHaveProperty("errorsTotal");
  });
});

describe("cutting text", () => {
  it("counts characters and never splits a surrogate pair", () => {
    expect(cut("\u{1F4A5}".repeat(70), 64)).toBe(`${"\u{1F4A5}".repeat(64)}…`);
    expect(cut("\u{1F4A5}".repeat(64), 64)).toBe("\u{1F4A5}".repeat(64));
    expect(echo("a".repeat(65))).toBe(`${"a".repeat(64)}…`);
    expect(echo("short")).toBe("short");
  });
});

describe("the worst case", () => {
  // Control characters are escaped as \u00XX: six bytes each in JSON.
  const hostile = "\u0001".repeat(100_000);

  it("an invalid request with thousands of huge parts renders under 64 kB", () => {
    const error = new InvalidRequestError(
      hostile,
      Array.from({ length: 5_000 }, () => invalidPart(hostile, hostile)),
    );
    expect(Buffer.byteLength(rendered(error))).toBeLessThanOrEqual(64 * 1024);
    expect(error.fields.errorsTotal).toBe(5_000);
  });

  it("unknown entries with huge names render under 64 kB", () => {
    const error = new UnknownConfigurationError(
      "freshservice",
      Array.from({ length: 20 }, () => ({ entry: echo(hostile), suggestion: "subdomain" })),
      90_000,
    );
    expect(Buffer.byteLength(rendered(error))).toBeLessThanOrEqual(64 * 1024);
    expect(error.message).toMatch(/and 89990 more$/);
  });
});
