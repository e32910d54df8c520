// instance.invalid and instance.valid: a check the vendor now refuses turns the instance invalid
// and sends instance.invalid; one it accepts again sends instance.valid; a check that changes
// nothing about validity sends the plain instance.updated. The vendor is a fake on 127.0.0.1
// (PROVISIONING=live through the test's loopback sender), the receiver another.
import { shortEventWaits } from "./event-test-settings.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { freshserviceAnswer, goodPassword, startFakeVendor, type FakeVendor } from "../../test-support/fake-vendor.js";
import { loopbackSender, toReceiver } from "../outbound/outbound-fakes.js";

const events = shortEventWaits;

let receiver: EventReceiver;
let vendor: FakeVendor;
let t: TestServer;
beforeAll(async () => {
  receiver = await startEventReceiver();
  vendor = await startFakeVendor({ tls: false, handle: freshserviceAnswer });
  const toTheReceiver = toReceiver(receiver.port);
  const toTheVendor = loopbackSender(() => vendor.port);
  t = await startTestServer({
    // Four checks in a row of one instance: no minimum interval between them (VERIFY_MIN_INTERVAL_SECONDS=0).
    config: { events, provisioning: "live", verifyMinIntervalMs: 0 },
    outbound: {
      checkOutboundUrl: toTheReceiver.checkOutboundUrl,
      // Events go to the receiver; vendor checks (to acme.freshservice.com) to the fake vendor.
      send: (request) => (request.url.port === String(receiver.port) ? toTheReceiver.send(request) : toTheVendor(request)),
    },
  });
});
afterAll(async () => {
  await t.stop();
  await receiver.close();
  await vendor.close();
});

const verify = async (id: number) => {
  const response = await t.api(`/instances/${id}/verify`, { method: "POST" });
  expect(response.status).toBe(200);
  return body<{ valid: boolean }>(response);
};

describe("validity events", () => {
  it("sends instance.invalid when a check is refused and instance.valid when one passes again", async () => {
    const created = await t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "freshservice" },
        configuration: {
          username: "agent@example.com",
          password: goodPassword,
          subdomain: "acme",
          "event.notification.enabled": "true",
          "event.notification.callback.url": receiver.url("/validity"),
        },
        name: "validity",
      },
    });
    expect(created.status).toBe(200);
    const { id } = await body<{ id: number }>(created);

    expect((await verify(id)).valid).toBe(true); // no change of validity: instance.updated
    vendor.handle = () => ({ status: 401, body: { message: "revoked" } });
    expect((await verify(id)).valid).toBe(false);
    expect((await verify(id)).valid).toBe(false); // still invalid: instance.updated
    vendor.handle = freshserviceAnswer;
    expect((await verify(id)).valid).toBe(true);

    const received = await receiver.waitFor("/validity", 5, 20_000);
    const sent = received.map((r) => JSON.parse(r.body) as { type: string; data: { valid: boolean } });
    expect(sent.map((event) => event.type)).toEqual([
      "instance.created",
      "instance.updated",
      "instance.invalid",
      "instance.updated",
      "instance.valid",
    ]);
    expect(sent.map((event) => event.data.valid)).toEqual([true, true, false, false, true]);
  });
});
