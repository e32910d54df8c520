// The events the server sends, as the `webhooks` section describes them (README.md, "Events"):
// one receiver operation per event type, named by it, carrying the Standard Webhooks headers and
// its event as the component schema named after it, whose `type` is the webhook's name and whose
// `data` is the instance as the API shows it; the answers the server acts on; examples that a
// receiver would take, headers included. The server's tests hold every event it sends to the same
// section (apps/server/test-support/event-receiver.ts).
import { eventChecker, partsOf, readWebhooks } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { bundle, resolve, schemas } from "./bundle.js";

const webhooks = readWebhooks(bundle);
const check = eventChecker(bundle);

/** `instance.token_rotated` as a name's PascalCase part: `InstanceTokenRotated`. */
function pascal(eventType: string): string {
  return eventType
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
}

type Operation = {
  security: unknown[];
  tags: string[];
  responses: Record<string, { $ref?: string }>;
  requestBody: { content: Record<string, { schema: { $ref?: string } }> };
};
const operationOf = (eventType: string) => (bundle.webhooks as Record<string, { post: Operation }>)[eventType]!.post;

describe("the webhooks", () => {
  it("describe every event the server sends, lifecycle, test and vendor alike", () => {
    expect(webhooks.map((w) => w.eventType).sort()).toEqual([
      "instance.created",
      "instance.deleted",
      "instance.invalid",
      "instance.test",
      "instance.token_rotated",
      "instance.updated",
      "instance.valid",
      "vendor.record.created",
      "vendor.record.updated",
    ]);
  });

  it("are what a delivery's eventType may be, and nothing else", () => {
    const eventType = resolve<{ properties: { eventType: { enum: string[] } } }>(schemas.EventDelivery).properties.eventType;
    expect([...eventType.enum].sort()).toEqual(webhooks.map((w) => w.eventType).sort());
  });

  it.each(webhooks.map((w) => [w.eventType, w] as const))(
    "%s: named by its type, its body the component named after it",
    (eventType, w) => {
      expect(w.operationId).toBe(`receive${pascal(eventType)}`);
      expect(w.payloadPointer).toBe(`#/components/schemas/${pascal(eventType)}Event`);
      const payload = resolve<{
        required: string[];
        properties: Record<string, { const?: unknown; $ref?: string; allOf?: { $ref?: string }[] }>;
      }>({
        $ref: w.payloadPointer,
      });
      expect(payload.properties.type!.const).toBe(eventType);
      expect(payload.required).toEqual(expect.arrayContaining(["type", "timestamp", "data"]));
      expect(payload.properties.timestamp!.$ref).toBe("#/components/schemas/EventTimestamp");
      // `data` is the instance as the API shows it (the Instance schema, narrowed at most), or, for
      // a change found in the vendor's data, the changed record.
      const data = payload.properties.data!;
      const expected = eventType.startsWith("vendor.") ? "#/components/schemas/VendorRecordChange" : "#/components/schemas/Instance";
      expect(data.$ref ?? data.allOf?.[0]?.$ref).toBe(expected);
    },
  );

  it.each(webhooks.map((w) => [w.eventType, w] as const))("%s: signed as Standard Webhooks says, with no Authorization", (eventType, w) => {
    expect(w.headers).toEqual([
      { name: "webhook-id", required: true, schemaPointer: "#/components/parameters/WebhookId/schema" },
      { name: "webhook-timestamp", required: true, schemaPointer: "#/components/parameters/WebhookTimestamp/schema" },
      { name: "webhook-signature", required: true, schemaPointer: "#/components/parameters/WebhookSignature/schema" },
    ]);
    expect(operationOf(eventType).security).toEqual([]);
    expect(operationOf(eventType).tags).toEqual(["Webhooks"]);
    expect(Object.keys(operationOf(eventType).requestBody.content)).toEqual(["application/json"]);
  });

  it.each(webhooks.map((w) => [w.eventType] as const))("%s: says what each answer does, as the dispatcher does it", (eventType) => {
    const answers = Object.fromEntries(
      Object.entries(operationOf(eventType).responses).map(([status, response]) => [status, partsOf(response.$ref!).at(-1)]),
    );
    // instance.deleted is attempted once (apps/server/src/events/attempt-outcome.ts); every other is retried.
    expect(answers).toEqual({
      "2XX": "EventAcknowledged",
      "410": "EventGone",
      default: eventType === "instance.deleted" ? "EventAttemptedOnce" : "EventRetried",
    });
  });

  it("mark a test event with test: true, and only a test event", () => {
    for (const { eventType, payloadPointer } of webhooks) {
      const payload = resolve<{ required: string[]; properties: Record<string, { const?: unknown }> }>({ $ref: payloadPointer });
      if (eventType === "instance.test") {
        expect(payload.properties.test!.const).toBe(true);
        expect(payload.required).toContain("test");
      } else expect(payload.properties).not.toHaveProperty("test");
    }
  });

  // The headers' own examples stand in for what the server sends beside each body.
  const headers = Object.fromEntries(
    ["WebhookId", "WebhookTimestamp", "WebhookSignature"].map((name) => {
      const parameter = (bundle.components.parameters as Record<string, { name: string; example: string }>)[name]!;
      return [parameter.name, parameter.example];
    }),
  );
  const examples = webhooks.flatMap((w) =>
    Object.entries(w.examples).map(([name, value]) => [`${w.eventType} ${name}`, w.eventType, value] as const),
  );

  it("have an example of every event", () => {
    expect(new Set(examples.map(([, eventType]) => eventType)).size).toBe(webhooks.length);
  });

  it.each(examples)("%s is an event the webhooks describe, of its own type", (_name, eventType, value) => {
    expect((value as { type: string }).type).toBe(eventType);
    expect(check({ headers, body: JSON.stringify(value) })).toEqual([]);
  });
});
