// Deliveries are shared fairly: one organization whose receivers hang holds at most its share of
// the slots in flight, and another organization's event goes out at once, not after the hanging
// ones time out (before: 16 slots shared oldest first, and the other event waited for them).
// On both stores, each of which claims round-robin across organizations.
import { bothStores } from "./event-test-settings.js";
import { describe, expect, it } from "vitest";
import { defaultEventDelivery, type EventDeliveryConfig } from "../../src/config.js";
import type { NewAccount } from "../../src/accounts/accounts.js";
import type { EventReceiver } from "../../test-support/event-receiver.js";
import { body, type TestServer } from "../harness.js";
import { serverWithReceiver } from "./server-with-receiver.js";
import { until } from "../support/until.js";

// Few slots, so that the hanging tenant could fill them all; a timeout much longer than the wait below.
const events: EventDeliveryConfig = {
  ...defaultEventDelivery,
  deliveryTimeoutMs: 8_000,
  firstRetryMs: 60_000,
  pollIntervalMs: 100,
  concurrency: 4,
  perOrganization: 2,
};

const stores = bothStores;

describe.each(stores)("fair deliveries on %s", (_name, open) => {
  let receiver: EventReceiver;
  let t: TestServer;
  let greedy: NewAccount;
  let modest: NewAccount;
  serverWithReceiver(open, { events }, async (server, started) => {
    t = server;
    receiver = started;
    receiver.answer((path) => (path.startsWith("/hang") ? "hang" : 204));
    greedy = await t.newAccount("greedy");
    modest = await t.newAccount("modest");
  });

  const create = async (account: NewAccount, path: string) => {
    const response = await t.api("/instances", {
      method: "POST",
      headers: { Authorization: account.authorization },
      json: {
        your_mom: { key: "taxify" },
        configuration: { "api.key": "k-0b7c", "event.notification.enabled": "true", "event.notification.callback.url": receiver.url(path) },
        name: path,
      },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return body<{ id: number }>(response);
  };

  it("delivers another organization's event while one organization's receivers hang, holding only its share", async () => {
    for (let i = 0; i < 6; i++) await create(greedy, `/hang/${i}`);
    await until(() => (receiver.hanging() >= 2 ? true : undefined), 10);
    const started = Date.now();
    await create(modest, "/modest");
    await until(() => (receiver.received.some((r) => r.path === "/modest") ? true : undefined), 5);
    // Well before any hanging delivery times out (8 s): it did not wait for them.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(receiver.hanging()).toBe(events.perOrganization);
  }, 30_000);
});
