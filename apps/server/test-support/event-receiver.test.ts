// The event receiver itself: it records each request with what its envelope says, counts the
// requests per path for the test's answer, and holds a request it was told to hang.
import { afterEach, describe, expect, it } from "vitest";
import { startEventReceiver, type EventReceiver } from "./event-receiver.js";

describe("event receiver", () => {
  let receiver: EventReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  const post = (path: string, body: string, webhookId = "msg_1") =>
    fetch(receiver!.url(path), { method: "POST", headers: { "content-type": "application/json", "webhook-id": webhookId }, body });

  it("records an event's webhook-id, type and instance id, and answers the nth request on a path as told", async () => {
    receiver = await startEventReceiver();
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
    receiver = await startEventReceiver();
    receiver.answer(() => "hang");
    const pending = post("/hang", "{}").catch(() => "cut");
    await receiver.waitFor("/hang", 1);
    expect(receiver.hanging()).toBe(1);
    await receiver.close();
    receiver = undefined;
    expect(await pending).toBe("cut");
  });
});
