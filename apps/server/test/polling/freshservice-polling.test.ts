// Polling Freshservice for changed tickets, end to end: a fake Freshservice over TLS on 127.0.0.1,
// reached through the real outbound guard as `acme.freshservice.com` (an injected resolver answers
// 127.0.0.1, and the port the server's https URL leaves out is the fake's; nothing leaves this
// machine), with tickets a test changes; a receiver of events on 127.0.0.1. Its listing is not
// ordered by change time, so the checkpoint moves once the whole listing is read: a ticket changed
// after the instance's creation arrives once, as a signed vendor event, whatever page it is on;
// one older than the instance never does; a poll that fails midway resumes at its page. On SQLite
// and on PostgreSQL, whose stores keep the listing's place in the checkpoint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { fakeFreshserviceLists, freshserviceDate, goodPassword, startFakeVendor, type FakeVendor } from "../../test-support/fake-vendor.js";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import type { StorageConfig } from "../../src/config.js";
import { shortEventWaits } from "../events/event-test-settings.js";
import { guardedToFakes } from "../outbound/guarded-to-fakes.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { freshserviceConfiguration, polledEvery, vendorEventsOf } from "../support/instance-configurations.js";
import { until } from "../support/until.js";
import { vendorEvents as receivedVendorEvents } from "../support/vendor-events.js";
import { quickPolls } from "./poller-test-settings.js";

const host = "acme.freshservice.com";
// Three tickets to a page, whatever per_page asks: the listings below span pages.
const lists = fakeFreshserviceLists({ pageCap: 3 });

let vendor: FakeVendor;
let receiver: EventReceiver;
beforeAll(async () => {
  receiver = await startEventReceiver();
  vendor = await startFakeVendor({ names: [host], handle: (request) => lists.answer(request) });
});
afterAll(async () => {
  await vendor.close();
  await receiver.close();
});

function startServer(storage: StorageConfig | undefined): Promise<TestServer> {
  return startTestServer({
    ...(storage ? { storage } : {}),
    config: {
      provisioning: "live",
      events: shortEventWaits,
      poller: { ...quickPolls, maxPages: 2, responseMaxBytes: 1024 * 1024 },
    },
    // The server's https://acme.freshservice.com/... reaches the fake's port (the name and the TLS stay).
    outbound: guardedToFakes({ vendors: [vendor], names: [host], portless: vendor, receiver }),
  });
}

async function polledInstance(t: TestServer, path: string, list: string): Promise<{ id: number; eventSigningSecret: string }> {
  const created = await t.api("/instances", {
    method: "POST",
    json: {
      your_mom: { key: "freshservice" },
      configuration: { ...freshserviceConfiguration(), ...vendorEventsOf(receiver.url(path), [list]), ...polledEvery() },
      name: "polled help desk",
    },
  });
  expect(created.status).toBe(200);
  return body(created);
}

const vendorEvents = (path: string, secret: string) => receivedVendorEvents(receiver, path, secret);

/** The requests for `list`, from the `from`th request on. */
const askedFor = (list: string, from = 0) => vendor.requests.slice(from).filter((r) => r.path.startsWith(`/api/v2/${list}?`));

/** Waits until the listing of `list` has been read to its end once more (a request without a next page). */
async function nextFullListing(list: string): Promise<void> {
  const ends = () => askedFor(list).length;
  const before = ends();
  await until(() => (ends() > before + 2 ? true : undefined), 30);
}

let nextId = 1;
const ticket = (created: number, updated: number, subject = "A ticket") => ({
  id: nextId++,
  created_at: freshserviceDate(created),
  updated_at: freshserviceDate(updated),
  subject,
});

describe.each([["SQLite"], ["PostgreSQL"]])("polling Freshservice, on %s", { timeout: 90_000 }, (storage) => {
  let t: TestServer;
  let cluster: PostgresCluster | undefined;
  beforeAll(async () => {
    if (storage === "PostgreSQL") cluster = await startPostgresCluster();
    t = await startServer(cluster ? { kind: "postgres", url: cluster.url } : undefined);
  });
  afterAll(async () => {
    await t.stop();
    cluster?.stop();
  });

  it("sends each ticket changed after the instance's creation once, whatever its page, and never an older one", async () => {
    const path = `/${storage}/tickets`;
    const requestsBefore = vendor.requests.length;
    const before = Date.now() - 86_400_000;
    // Seven tickets created before the instance, three to a page, listed by creation.
    const old = Array.from({ length: 7 }, (_, i) => ticket(before + i * 1000, before + i * 1000, `old ${i}`));
    for (const record of old) lists.put("tickets", record);
    const instance = await polledInstance(t, path, "tickets");
    await until(() => (askedFor("tickets", requestsBefore).length > 0 ? true : undefined), 20);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the changes land in a later second
    const at = Date.now();
    // Changed after the creation, listed over two pages by creation: the first listed changed last,
    // so a checkpoint moved by the first page would skip the second page's older changes.
    for (const i of [2, 4, 6]) lists.put("tickets", { ...old[i]!, updated_at: freshserviceDate(at), subject: `changed ${i}` });
    lists.put("tickets", { ...old[0]!, updated_at: freshserviceDate(at + 1000), subject: "changed first" });
    const created = ticket(at, at, "new");
    lists.put("tickets", created);
    const events = await until(() => {
      const got = vendorEvents(path, instance.eventSigningSecret);
      return got.length >= 5 ? got : undefined;
    }, 30);
    await nextFullListing("tickets"); // nothing new: nothing more
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(vendorEvents(path, instance.eventSigningSecret).length).toBe(5);
    expect(events.map((e) => [e.type, e.data.recordId]).sort()).toEqual(
      [["vendor.record.created", String(created.id)], ...[0, 2, 4, 6].map((i) => ["vendor.record.updated", String(old[i]!.id)])].sort(),
    );
    const first = events.find((e) => e.data.recordId === String(old[0]!.id))!;
    expect(first.data).toEqual({
      instanceId: instance.id,
      resource: "tickets",
      recordId: String(old[0]!.id),
      changedAt: new Date(Math.floor(at / 1000) * 1000 + 1000).toISOString(),
      record: { ...old[0]!, updated_at: freshserviceDate(at + 1000), subject: "changed first" },
    });
    // Asked with the instance's credentials, by page, oldest created first, from the second before the checkpoint.
    const asked = askedFor("tickets", requestsBefore);
    const [, credentials = ""] = /^Basic (.+)$/.exec(String(asked[0]!.headers.authorization)) ?? [];
    expect(Buffer.from(credentials, "base64").toString()).toBe(`api-key-1234:${goodPassword}`);
    expect(asked[0]!.host).toBe(`${host}:${vendor.port}`);
    const query = new URL(asked[0]!.path, "https://freshservice.test").searchParams;
    expect([...query.keys()]).toEqual(["updated_since", "order_type", "per_page", "page"]);
    expect(query.get("updated_since")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect([query.get("order_type"), query.get("per_page"), query.get("page")]).toEqual(["asc", "30", "1"]);
    expect(asked.some((r) => r.path.includes("page=2"))).toBe(true);
  });

  it("resumes a listing that failed midway at its page, without losing or repeating a change", async () => {
    const path = `/${storage}/changes`;
    const requestsBefore = vendor.requests.length;
    const at = Date.now();
    const instance = await polledInstance(t, path, "changes");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // Eight changes after the creation, three to a page: the second page fails once.
    const changed = Array.from({ length: 8 }, (_, i) => ticket(at - 60_000 + i * 1000, Date.now()));
    let failed = false;
    lists.failWith((request) => {
      if (failed || !request.path.startsWith("/api/v2/changes?") || !request.path.includes("page=2")) return undefined;
      failed = true;
      return 503;
    });
    for (const record of changed) lists.put("changes", record);
    const ids = await until(() => {
      const got = vendorEvents(path, instance.eventSigningSecret).map((e) => e.data.recordId);
      return got.length >= 8 ? got : undefined;
    }, 40);
    await nextFullListing("changes");
    await new Promise((resolve) => setTimeout(resolve, 500));
    lists.failWith(undefined);
    expect(failed).toBe(true);
    expect(ids.sort()).toEqual(changed.map((c) => String(c.id)).sort());
    expect(vendorEvents(path, instance.eventSigningSecret).length).toBe(8);
    // After the failure, asked again from the second page, not the first.
    const asked = askedFor("changes", requestsBefore);
    const afterFailure = asked.slice(asked.findIndex((r) => r.path.includes("page=2")) + 1);
    expect(new URL(afterFailure[0]!.path, "https://freshservice.test").searchParams.get("page")).toBe("2");
  });
});
