// Reads the events out of the bundled spec's `webhooks` section: one receiver operation per event
// type, named by it (spec/README.md, "Events"), with the headers each request carries and the
// schema of its body. `eventChecker` holds a request the server sent (headers and body, as
// received) to that description, so that the server's tests prove every event it sends is one the
// spec describes, and the client and the docs read the same list.
import { isJsonObject, type JsonObject, type SpecDocument } from "./document.js";
import { partsOf, pointerOf, resolveRef } from "./json-pointer.js";
import { schemaValidator, type SchemaValidator } from "./schema-validator.js";

export interface WebhookHeader {
  /** The header's name, in lower case: `webhook-signature`. */
  name: string;
  required: boolean;
  /** Where its schema is: `#/components/parameters/WebhookSignature/schema`. */
  schemaPointer: string;
}

export interface WebhookDefinition {
  /** The event type: the webhook's name and its body's `type`, `instance.created`. */
  eventType: string;
  operationId: string;
  /** Where the body's schema is: `#/components/schemas/InstanceCreatedEvent`. */
  payloadPointer: string;
  headers: WebhookHeader[];
  /** The body's examples, by name. */
  examples: Record<string, unknown>;
}

type Operation = JsonObject & { operationId?: string; parameters?: unknown[]; requestBody?: unknown };

/** Every webhook of the spec, in its order; none when it has no `webhooks` section. Throws on one that is not a POST of a JSON event. */
export function readWebhooks(spec: SpecDocument): WebhookDefinition[] {
  const webhooks = isJsonObject(spec.webhooks) ? spec.webhooks : {};
  return Object.entries(webhooks).map(([eventType, item]) => {
    const operation = resolveRef<JsonObject | undefined>(spec, item)?.post as Operation | undefined;
    if (!isJsonObject(operation)) throw new Error(`spec: webhook ${eventType} has no post operation`);
    const at = ["webhooks", eventType, "post"];
    const media = resolveRef<JsonObject | undefined>(spec, operation.requestBody)?.content as Record<string, JsonObject> | undefined;
    const json = media?.["application/json"];
    if (!json?.schema) throw new Error(`spec: webhook ${eventType} has no application/json body with a schema`);
    const schemaRef = (json.schema as { $ref?: unknown }).$ref;
    const payloadPointer =
      typeof schemaRef === "string" ? schemaRef : pointerOf([...at, "requestBody", "content", "application/json", "schema"]);
    const headers = (operation.parameters ?? []).flatMap((parameter, i): WebhookHeader[] => {
      const resolved = resolveRef<JsonObject>(spec, parameter);
      if (resolved.in !== "header" || typeof resolved.name !== "string") return [];
      const ref = (parameter as { $ref?: unknown }).$ref;
      const where = typeof ref === "string" ? partsOf(ref) : [...at, "parameters", String(i)];
      return [{ name: resolved.name.toLowerCase(), required: resolved.required === true, schemaPointer: pointerOf([...where, "schema"]) }];
    });
    const examples = Object.fromEntries(
      Object.entries((json.examples ?? {}) as Record<string, unknown>).map(([name, example]) => [
        name,
        resolveRef<{ value?: unknown }>(spec, example).value,
      ]),
    );
    return { eventType, operationId: operation.operationId ?? "", payloadPointer, headers, examples };
  });
}

/** A request as a receiver got it: its headers (any case; a header sent twice as its values joined) and its body, as received. */
export interface ReceivedEvent {
  headers: Readonly<Record<string, string | undefined>>;
  body: string;
}

/**
 * A check of event requests against the spec's webhooks: what is wrong with one, each problem a line
 * (`instance.invalid: body /data/valid must be equal to constant`); none when the spec describes
 * it. A body that is not JSON, or not an object with a `type`, and a `type` with no webhook, are
 * problems too.
 */
export function eventChecker(spec: SpecDocument, validator: SchemaValidator = schemaValidator(spec, { allErrors: true })) {
  const webhooks = new Map(readWebhooks(spec).map((webhook) => [webhook.eventType, webhook]));
  return ({ headers, body }: ReceivedEvent): string[] => {
    let event: unknown;
    try {
      event = JSON.parse(body);
    } catch {
      return ["the body is not JSON"];
    }
    const type = isJsonObject(event) ? event.type : undefined;
    if (typeof type !== "string") return ["the body is not an event: no string `type`"];
    const webhook = webhooks.get(type);
    if (!webhook) return [`${type}: the spec's webhooks have no entry for it (they have ${[...webhooks.keys()].join(", ")})`];
    const lowered = new Map(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const problems = webhook.headers.flatMap(({ name, required, schemaPointer }) => {
      const value = lowered.get(name);
      if (value === undefined) return required ? [`${type}: header ${name} is missing`] : [];
      return validator.validate(schemaPointer, value).map((error) => `${type}: header ${name} ${error.message ?? "is not valid"}`);
    });
    const bodyProblems = validator
      .validate(webhook.payloadPointer, event)
      .map((error) => `${type}: body ${error.instancePath || "/"} ${error.message ?? "is not valid"}${paramsText(error.params)}`);
    return [...problems, ...bodyProblems];
  };
}

/** What Ajv adds that its message leaves out: the property that is missing or extra, the allowed value. */
function paramsText(params: Record<string, unknown>): string {
  const named = params.missingProperty ?? params.additionalProperty ?? params.allowedValue;
  return named === undefined ? "" : ` (${JSON.stringify(named)})`;
}
