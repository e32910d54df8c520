// verifyEvent against requests signed the way the server signs them (the `standardwebhooks`
// package, with a secret of the server's form): every event of the spec's examples verifies and
// comes back as sent, whatever shape its headers come in; a tampered body, a wrong secret, an old
// or future timestamp, missing headers and a signed body that is no event are each refused with
// their own reason. An editor shows its documentation, and the sample the spec's Events section
// (the docs) shows compiles against it.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { readWebhooks, walk, type SpecDocument } from "@instances-api/spec-tools";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { EventVerificationError, verifyEvent, type EventVerificationFailure } from "../src/index.js";
import { compile, hover } from "./compile.js";

const spec = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;
const examples = readWebhooks(spec).flatMap(({ eventType, examples }) =>
  Object.values(examples).map((value) => [eventType, value] as const),
);

const newSecret = () => `whsec_${randomBytes(24).toString("base64")}`;
const secret = newSecret();

/** A request as the server sends it: the body, and its headers signed at `at` with each of `secrets`. */
function signed(body: string, { at = new Date(), secrets = [secret], id = "msg_2KWPBgLlAfxdpx2AI54pPJ" } = {}) {
  const signatures = secrets.map((s) => new Webhook(s).sign(id, at, body)).join(" ");
  return {
    body,
    headers: { "webhook-id": id, "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": signatures },
  };
}

function failure(run: () => unknown): { reason: EventVerificationFailure; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof EventVerificationError) return { reason: error.reason, message: error.message };
    throw error;
  }
  throw new Error("it verified");
}

describe("verifyEvent", () => {
  it("has an example of every event type to verify", () => {
    expect(new Set(examples.map(([type]) => type)).size).toBe(9);
  });

  it.each(examples)("returns %s as it was sent", (eventType, value) => {
    const { body, headers } = signed(JSON.stringify(value));
    const event = verifyEvent(secret, headers, body);
    expect(event.type).toBe(eventType);
    expect(event).toEqual(value);
  });

  it("reads the headers from a fetch Headers, a record in any case, or a Node-style record with arrays, and the body as bytes", () => {
    const { body, headers } = signed(JSON.stringify(examples[0]![1]));
    const upper = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    const node = { ...headers, "webhook-id": [headers["webhook-id"]], host: "127.0.0.1" };
    for (const given of [new Headers(headers), upper, node]) expect(verifyEvent(secret, given, body)).toEqual(examples[0]![1]);
    expect(verifyEvent(secret, headers, new TextEncoder().encode(body))).toEqual(examples[0]![1]);
  });

  it("accepts a request signed with a retired secret beside the current one, as during a token rotation", () => {
    const old = newSecret();
    const { body, headers } = signed(JSON.stringify(examples[0]![1]), { secrets: [secret, old] });
    expect(verifyEvent(old, headers, body)).toEqual(examples[0]![1]);
    expect(verifyEvent(secret, headers, body)).toEqual(examples[0]![1]);
  });

  it("refuses a tampered body, saying to verify the body exactly as received", () => {
    const { body, headers } = signed(JSON.stringify(examples[0]![1]));
    const tampered = body.replace('"valid":true', '"valid":false');
    expect(tampered).not.toBe(body);
    expect(failure(() => verifyEvent(secret, headers, tampered))).toEqual({
      reason: "bad-signature",
      message: expect.stringContaining("verify the body exactly as received") as string,
    });
    // Parsed and serialized again, the same event is other bytes: they do not verify either.
    const reserialized = JSON.stringify(JSON.parse(body), null, 1);
    expect(failure(() => verifyEvent(secret, headers, reserialized)).reason).toBe("bad-signature");
  });

  it("refuses a request signed with another secret", () => {
    const { body, headers } = signed(JSON.stringify(examples[0]![1]), { secrets: [newSecret()] });
    expect(failure(() => verifyEvent(secret, headers, body)).reason).toBe("bad-signature");
  });

  it.each<[string, number, EventVerificationFailure]>([
    ["six minutes old", -6 * 60_000, "timestamp-too-old"],
    ["six minutes ahead", 6 * 60_000, "timestamp-too-new"],
  ])("refuses a timestamp %s, however well signed", (_when, offset, reason) => {
    const { body, headers } = signed(JSON.stringify(examples[0]![1]), { at: new Date(Date.now() + offset) });
    expect(failure(() => verifyEvent(secret, headers, body)).reason).toBe(reason);
  });

  it("accepts a timestamp four minutes old (a retry is signed anew, but clocks differ)", () => {
    const { body, headers } = signed(JSON.stringify(examples[0]![1]), { at: new Date(Date.now() - 4 * 60_000) });
    expect(verifyEvent(secret, headers, body)).toEqual(examples[0]![1]);
  });

  it.each(["webhook-id", "webhook-timestamp", "webhook-signature"])("refuses a request without %s", (name) => {
    const { body, headers } = signed(JSON.stringify(examples[0]![1]));
    const without = Object.fromEntries(Object.entries(headers).filter(([header]) => header !== name));
    expect(failure(() => verifyEvent(secret, without, body)).reason).toBe("missing-headers");
  });

  it.each([
    ["not JSON", "ok"],
    ["JSON with no type", '{"data":{}}'],
    ["empty", ""],
  ])("refuses a signed body that is %s", (_what, body) => {
    const request = signed(body);
    expect(failure(() => verifyEvent(secret, request.headers, request.body)).reason).toBe("not-an-event");
  });

  it("refuses a secret that is not a signing secret, as a programming error", () => {
    const { body, headers } = signed(JSON.stringify(examples[0]![1]));
    expect(() => verifyEvent("", headers, body)).toThrow(TypeError);
    expect(() => verifyEvent(secret.slice("whsec_".length), headers, body)).toThrow(/whsec_/);
  });

  it("shows its documentation on hover: what it checks, the secret, what it throws", () => {
    const source = 'import { verifyEvent } from "@instances-api/client";\nexport const event = verifyEvent("whsec_c2VjcmV0", {}, "");\n';
    const shown = hover(source, ["verifyEvent("])["verifyEvent("]!;
    expect(shown).toMatch(/^\(alias\) verifyEvent\(secret: string, headers: EventHeaders, body: string \| Uint8Array\): InstanceEvent/);
    expect(shown).toContain("Verifies an event the API sent to an instance's callback URL");
    expect(shown).toContain("@param secret The instance's `eventSigningSecret`");
    expect(shown).toContain("@throws {EventVerificationError}");
  });

  it("is what the spec's Events section shows, in a sample that compiles", () => {
    const description = walk<string>(spec, ["info", "description"]);
    const samples = [...description.matchAll(/```typescript\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((s) => s.includes("verifyEvent"));
    expect(samples).toHaveLength(1);
    expect(compile({ sample: samples[0]! }).sample).toEqual([]);
  });
});
