// The event receiver itself: it records each request with what its envelope says, counts the
// requests per path for the test's answer, holds a request it was told to hang, and holds every
// request to the spec's webhooks (one that they do not describe fails its close()).
import { createRequire } from "node:module";
import { readSpecDocument, readWebhooks } from "@instances-api/spec-tools";
import { afterEach, describe, expect, it } from "vitest";
import { startEventReceiver, type EventReceiver } from "./event-receiver.js";

const spec = readSpecDocument(createRequire(import.meta.url).resolve("@instances-api/spec/openapi.json"));
const created = readWebhooks(spec).find((webhook) => webhook.eventType === "instance.created")!;
/** The spec's own example of an instance.created, with headers of the form the server sends. */
const createdEvent = Object.values(created.examples)[0] as { type: string; data: Record<string, unknown> };
const signatureHeaders = {
  "content-type": "application/json",
  "webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ",
  "webhook-timestamp": "1796292000",
  "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
};

describe("event receiver", () => {
  let receiver: EventReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  const post = (path: string, body: string, webhookId = "msg_1") =>
    fetch(receiver!.url(path), { method: "POST", headers: { "content-type": "application/json", "webhook-id": webhookId }, body });

  it("records an event's webhook-id, type and instance id, and answers the nth request on a path as told", async () => {
    receiver = await startEventReceiver({ checkEvents: false });
    receiver.answer((path, nth) => (path === "/a" && nth === 1 ? 503 : 204));
    const event = JSON.stringify({ type: "instance.created", timestamp: new Date().toISOString(), data: { id: 7 } });
    expect((await post("/a", event)).status).toBe(503);
    expect((await post("/a", event)).status).toBe(204);
    expect((await post("/b", "not an event", "msg_2")).status).toBe(204);
    expect(await receiver.waitFor("/a", 2)).toEqual([
      expect.objectContaining({ webhookId: "msg_1", type: "instance.created", instanceId: 7, body: event }),
      expect.objectContaining({ webhookId: "msg_1", type: "instance.created", instanceId: 7 }),
    ]);
    await receiver.until((all) => all.length === 3);
    expect(receiver.received[2]).not.toHaveProperty("type");
    expect(receiver.received[2]).toMatchObject({ path: "/b", webhookId: "msg_2", headers: { "content-type": "application/json" } });
  });

  it("holds a request it was told to hang, and counts it", async () => {
    receiver = await startEventReceiver({ checkEvents: false });
    receiver.answer(() => "hang");
    const pending = post("/hang", "{}").catch(() => "cut");
    await receiver.waitFor("/hang", 1);
    expect(receiver.hanging()).toBe(1);
    await receiver.close();
    receiver = undefined;
    expect(await pending).toBe("cut");
  });

  it("passes an event the spec's webhooks describe, as the server sends it", async () => {
    receiver = await startEventReceiver();
    const response = await fetch(receiver.url("/ok"), { method: "POST", headers: signatureHeaders, body: JSON.stringify(createdEvent) });
    expect(response.status).toBe(204);
    await receiver.until((all) => all.length === 1);
    expect(receiver.received[0]!.problems).toEqual([]);
    await expect(receiver.close()).resolves.toBeUndefined();
    receiver = undefined;
  });

  it.each<[string, { headers?: Record<string, string>; body: unknown }, string]>([
    [
      "an event type without a webhook",
      { body: { ...createdEvent, type: "instance.exploded" } },
      "instance.exploded: the spec's webhooks have no entry for it",
    ],
    [
      "an event without its data",
      { body: { type: "instance.created", timestamp: "2026-11-27T10:15:03.204Z" } },
      "instance.created: body / must have required property 'data'",
    ],
    [
      "a field the schema does not have",
      { body: { ...createdEvent, data: { ...createdEvent.data, token: 42 } } },
      "instance.created: body /data/token must be string",
    ],
    [
      "an unsigned event",
      { headers: { "content-type": "application/json" }, body: createdEvent },
      "instance.created: header webhook-id is missing",
    ],
    ["a body that is no event", { body: "hello" }, "the body is not an event"],
  ])("writes %s on the request and fails its close(), naming it", async (_case, { headers = signatureHeaders, body }, problem) => {
    receiver = await startEventReceiver();
    await fetch(receiver.url("/bad"), { method: "POST", headers, body: JSON.stringify(body) });
    await receiver.until((all) => all.length === 1);
    expect(receiver.received[0]!.problems.join("\n")).toContain(problem);
    const closing = receiver.close();
    receiver = undefined;
    await expect(closing).rejects.toThrow(/^the receiver got 1 request\(s\) that the spec's webhooks do not describe:\n {2}POST \/bad /);
    await expect(closing).rejects.toThrow(problem);
  });
});
