// The events the server sends are the spec's webhooks. Every event type the outbox records
// (events/outbox.ts) has a webhook, and every webhook is a type it records; and one instance taken
// through every change that sends an event (create, update, a refused and an accepted check, a token
// rotation, a test event, delete) sends each type once, each held by the receiver to its webhook:
// its headers and its body (test-support/event-receiver.ts, which holds every other events test to
// them too). The vendor is a fake on 127.0.0.1 (PROVISIONING=live), the receiver another.
import { readWebhooks } from "@instances-api/spec-tools";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventTypes } from "../../src/events/outbox.js";
import { loadBundledSpec } from "../../src/spec.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { freshserviceAnswer, goodPassword, startFakeVendor, type FakeVendor } from "../../test-support/fake-vendor.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { loopbackSender, toReceiver } from "../outbound/outbound-fakes.js";
import { shortEventWaits } from "./event-test-settings.js";

const webhooks = readWebhooks(loadBundledSpec());

let receiver: EventReceiver;
let vendor: FakeVendor;
let t: TestServer;
beforeAll(async () => {
  receiver = await startEventReceiver();
  vendor = await startFakeVendor({ tls: false, handle: freshserviceAnswer });
  const toTheReceiver = toReceiver(receiver.port);
  const toTheVendor = loopbackSender(() => vendor.port);
  t = await startTestServer({
    config: { events: shortEventWaits, provisioning: "live", verifyMinIntervalMs: 0 },
    outbound: {
      checkOutboundUrl: toTheReceiver.checkOutboundUrl,
      send: (request) => (request.url.port === String(receiver.port) ? toTheReceiver.send(request) : toTheVendor(request)),
    },
  });
});
afterAll(async () => {
  await t.stop();
  await receiver.close(); // fails if any request was not an event the webhooks describe
  await vendor.close();
});

describe("the events the server sends", () => {
  it("are the spec's webhooks: every type the outbox records has one, and every one is a type it records", () => {
    expect(webhooks.map((webhook) => webhook.eventType).sort()).toEqual([...eventTypes].sort());
  });

  // Six operations, each asked for the first time in this process (the validator compiles an
  // operation's schemas on its first request: 0.5-4 s each on a loaded machine, 30-80 ms the second
  // time), then the seven events: the 20 s a test is given by default was passed on Node 22 at load.
  it("each match its webhook, headers and body, one instance taken through every one of them", { timeout: 60_000 }, async () => {
    const api = async (path: string, init: Parameters<TestServer["api"]>[1], status: number) => {
      const response = await t.api(path, init);
      expect(response.status, `${path}: ${await response.clone().text()}`).toBe(status);
      return response;
    };
    const created = await api(
      "/instances",
      {
        method: "POST",
        json: {
          your_mom: { key: "freshservice" },
          configuration: {
            username: "agent@example.com",
            password: goodPassword,
            subdomain: "acme",
            "event.notification.enabled": "true",
            "event.notification.callback.url": receiver.url("/every"),
          },
          tags: ["helpdesk"],
          name: "Help desk",
        },
      },
      200,
    );
    const { id } = await body<{ id: number }>(created);
    await api(`/instances/${id}`, { method: "PATCH", json: { name: "Help desk (production)" } }, 200);
    vendor.handle = () => ({ status: 401, body: { message: "revoked" } });
    await api(`/instances/${id}/verify`, { method: "POST" }, 200);
    vendor.handle = freshserviceAnswer;
    await api(`/instances/${id}/verify`, { method: "POST" }, 200);
    await api(`/instances/${id}/token`, { method: "POST" }, 200);
    await api(`/instances/${id}/events/test`, { method: "POST" }, 202);
    await api(`/instances/${id}`, { method: "DELETE" }, 204);

    // The lifecycle events: one instance's own changes. The vendor's records' events come from a
    // poll of the vendor, and are held to their webhooks in test/polling (the same receiver check).
    const lifecycle = webhooks.map((webhook) => webhook.eventType).filter((type) => !type.startsWith("vendor."));
    const received = await receiver.waitFor("/every", lifecycle.length, 20_000);
    expect(received.map((request) => request.type)).toEqual([
      "instance.created",
      "instance.updated",
      "instance.invalid",
      "instance.valid",
      "instance.token_rotated",
      "instance.test",
      "instance.deleted",
    ]);
    expect(new Set(received.map((request) => request.type))).toEqual(new Set(lifecycle));
    expect(received.map((request) => [request.type, request.problems])).toEqual(received.map((request) => [request.type, []]));
  });
});
