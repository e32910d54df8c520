import { describe, expect, it } from "vitest";
import { eventChecker, readWebhooks, type SpecDocument } from "../src/index.js";

// A small document with one webhook, shaped as the spec's: the headers as component parameters,
// the body a component schema, one example.
const document: SpecDocument = {
  openapi: "3.1.0",
  webhooks: {
    "thing.made": {
      post: {
        operationId: "receiveThingMade",
        parameters: [
          { $ref: "#/components/parameters/WebhookId" },
          { name: "X-Optional", in: "header", required: false, schema: { type: "string", maxLength: 3 } },
          { name: "page", in: "query", schema: { type: "integer" } },
        ],
        requestBody: {
          required: true,
          content: {
            "application/json": {
              schema: { $ref: "#/components/schemas/ThingMadeEvent" },
              examples: { made: { value: { type: "thing.made", data: { id: 1 } } } },
            },
          },
        },
        responses: { "2XX": { description: "Acknowledged." } },
      },
    },
  },
  components: {
    parameters: {
      WebhookId: { name: "webhook-id", in: "header", required: true, schema: { type: "string", pattern: "^msg_" } },
    },
    schemas: {
      ThingMadeEvent: {
        type: "object",
        required: ["type", "data"],
        additionalProperties: false,
        properties: {
          type: { const: "thing.made" },
          data: { type: "object", required: ["id"], properties: { id: { type: "integer" }, valid: { const: true } } },
        },
      },
    },
  },
};

const good = JSON.stringify({ type: "thing.made", data: { id: 1 } });

describe("readWebhooks", () => {
  it("reads each webhook's event type, operation, body schema, header parameters and examples", () => {
    expect(readWebhooks(document)).toEqual([
      {
        eventType: "thing.made",
        operationId: "receiveThingMade",
        payloadPointer: "#/components/schemas/ThingMadeEvent",
        headers: [
          { name: "webhook-id", required: true, schemaPointer: "#/components/parameters/WebhookId/schema" },
          { name: "x-optional", required: false, schemaPointer: "#/webhooks/thing.made/post/parameters/1/schema" },
        ],
        examples: { made: { type: "thing.made", data: { id: 1 } } },
      },
    ]);
  });

  it("reads none from a document without webhooks, and refuses a webhook that is not a POST", () => {
    expect(readWebhooks({ components: { schemas: {} } })).toEqual([]);
    expect(() => readWebhooks({ components: { schemas: {} }, webhooks: { "thing.made": { get: {} } } })).toThrow(
      "spec: webhook thing.made has no post operation",
    );
  });
});

describe("eventChecker", () => {
  const check = eventChecker(document);

  it("passes an event the webhooks describe, its headers in any case", () => {
    expect(check({ headers: { "Webhook-Id": "msg_1" }, body: good })).toEqual([]);
  });

  it.each<[string, { headers: Record<string, string>; body: string; want: string[] }]>([
    ["a body that is not JSON", { headers: { "webhook-id": "msg_1" }, body: "nope", want: ["the body is not JSON"] }],
    ["a body with no type", { headers: { "webhook-id": "msg_1" }, body: "{}", want: ["the body is not an event: no string `type`"] }],
    [
      "a type with no webhook",
      {
        headers: { "webhook-id": "msg_1" },
        body: JSON.stringify({ type: "thing.lost", data: { id: 1 } }),
        want: ["thing.lost: the spec's webhooks have no entry for it (they have thing.made)"],
      },
    ],
    ["a required header missing", { headers: {}, body: good, want: ["thing.made: header webhook-id is missing"] }],
    [
      "a header against its schema",
      {
        headers: { "webhook-id": "id_1", "x-optional": "long" },
        body: good,
        want: [
          expect.stringMatching(/^thing\.made: header webhook-id must match pattern/),
          "thing.made: header x-optional must NOT have more than 3 characters",
        ] as string[],
      },
    ],
    [
      "a body against its schema, naming what is missing, extra or not allowed",
      {
        headers: { "webhook-id": "msg_1" },
        body: JSON.stringify({ type: "thing.made", data: { valid: false }, extra: 1 }),
        want: [
          'thing.made: body / must NOT have additional properties ("extra")',
          "thing.made: body /data must have required property 'id' (\"id\")",
          "thing.made: body /data/valid must be equal to constant (true)",
        ],
      },
    ],
  ])("finds %s", (_case, { headers, body, want }) => {
    expect(check({ headers, body })).toEqual(want);
  });
});
