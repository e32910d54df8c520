// Polling a vendor for changes, end to end: a fake SugarCRM over TLS on 127.0.0.1, reached as
// `sugar.test:<port>` through the real outbound guard (an injected resolver answers 127.0.0.1;
// nothing leaves this machine), with records a test changes; a receiver of events on 127.0.0.1.
// A change after the instance's creation arrives once, as a signed vendor event; a record older
// than the instance never does; a poll that fails midway resumes where its last page left off.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { fakeSugarcrm, fakeSugarcrmRecords, startFakeVendor, sugarDate, type FakeVendor } from "../../test-support/fake-vendor.js";
import { shortEventWaits } from "../events/event-test-settings.js";
import { guardedToFakes } from "../outbound/guarded-to-fakes.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { polledEvery, sugarcrmConfiguration, vendorEventsOf } from "../support/instance-configurations.js";
import { until } from "../support/until.js";
import { vendorEvents as receivedVendorEvents } from "../support/vendor-events.js";
import { quickPolls } from "./poller-test-settings.js";

const sugar = fakeSugarcrm({ expiresIn: 3600 });
/** While true, SugarCRM refuses every token and every grant: the credentials were revoked. */
let revoked = false;
const records = fakeSugarcrmRecords({ accepts: (token) => !revoked && sugar.issued.some((t) => t.accessToken === token), pageCap: 2 });

let vendor: FakeVendor;
let receiver: EventReceiver;
let t: TestServer;
beforeAll(async () => {
  receiver = await startEventReceiver();
  vendor = await startFakeVendor({ names: ["sugar.test"], handle: (request) => records.answer(request) });
  vendor.on("POST /rest/v10/oauth2/token", (request) =>
    revoked
      ? { status: 401, body: { error: "need_login", error_message: "You must specify a valid username and password." } }
      : sugar.answer(request),
  );
  t = await startTestServer({
    // Each instance asks for a poll every 0.01 minutes: every second, the floor set here.
    config: { provisioning: "live", events: shortEventWaits, poller: quickPolls },
    outbound: guardedToFakes({ vendors: [vendor], names: ["sugar.test"], receiver }),
  });
});
afterAll(async () => {
  await t.stop(); // closes the stream too
  await vendor.close();
  await receiver.close();
});

async function polledInstance(
  path: string,
  module = "Contacts",
  extra: Record<string, string> = {},
): Promise<{ id: number; eventSigningSecret: string }> {
  const created = await t.api("/instances", {
    method: "POST",
    json: {
      your_mom: { key: "sugarcrmv2" },
      configuration: { ...sugarcrmConfiguration(vendor), ...vendorEventsOf(receiver.url(path), [module]), ...polledEvery(), ...extra },
      name: "polled",
    },
  });
  expect(created.status).toBe(200);
  return body(created);
}

const vendorEvents = (path: string, secret: string) => receivedVendorEvents(receiver, path, secret);

/** Waits for one more poll of `instance` to have asked the vendor (its polls are a second apart). */
async function nextPoll(module: string): Promise<void> {
  const asked = vendor.requests.filter((r) => r.path.startsWith(`/rest/v10/${module}`)).length;
  await until(() => (vendor.requests.filter((r) => r.path.startsWith(`/rest/v10/${module}`)).length > asked ? true : undefined), 20);
}

describe("polling SugarCRM", { timeout: 60_000 }, () => {
  it("sends a change made after the instance's creation once, signed, and never a record older than the instance", async () => {
    const before = Date.now() - 86_400_000;
    records.put("Contacts", { id: "old", date_entered: sugarDate(before), date_modified: sugarDate(before), name: "Old" });
    records.put("Contacts", { id: "changed", date_entered: sugarDate(before), date_modified: sugarDate(before), name: "Before" });
    const instance = await polledInstance("/changes");
    await nextPoll("Contacts");
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the next change lands in a later second
    const at = Date.now();
    records.put("Contacts", { id: "changed", date_entered: sugarDate(before), date_modified: sugarDate(at), name: "After" });
    records.put("Contacts", { id: "new", date_entered: sugarDate(at), date_modified: sugarDate(at), name: "New" });
    await until(() => (vendorEvents("/changes", instance.eventSigningSecret).length >= 2 ? true : undefined), 20);
    await nextPoll("Contacts"); // nothing new: nothing more
    await new Promise((resolve) => setTimeout(resolve, 500));

    const events = vendorEvents("/changes", instance.eventSigningSecret);
    expect(events.map((e) => [e.type, e.data.recordId]).sort()).toEqual([
      ["vendor.record.created", "new"],
      ["vendor.record.updated", "changed"],
    ]);
    const updated = events.find((e) => e.data.recordId === "changed")!;
    expect(updated.data).toEqual({
      instanceId: instance.id,
      resource: "Contacts",
      recordId: "changed",
      changedAt: new Date(Math.floor(at / 1000) * 1000).toISOString(),
      record: { id: "changed", date_entered: sugarDate(before), date_modified: sugarDate(at), name: "After" },
    });
    expect(new Date(updated.timestamp).toISOString()).toBe(updated.timestamp);
    const listed = await body<{ eventType: string }[]>(await t.api(`/instances/${instance.id}/deliveries`));
    expect(listed.filter((d) => d.eventType.startsWith("vendor.")).length).toBe(2);
    // Asked with the instance's credentials, changes since its checkpoint, oldest first.
    const asked = vendor.requests.filter((r) => r.path.startsWith("/rest/v10/Contacts"));
    expect(asked.every((r) => sugar.issued.some((tokens) => tokens.accessToken === r.headers["oauth-token"]))).toBe(true);
    const query = new URL(asked[0]!.path, "https://sugar.test").searchParams;
    expect(query.get("order_by")).toBe("date_modified:ASC,id:ASC");
    expect(query.get("filter[0][date_modified][$gte]")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
  });

  it("asks with the instance's bulk entries: its change-time field, its creation-time field and `>`", async () => {
    const bulk = {
      "bulk.query.field_name": "touched_at",
      "bulk.query.operator": ">",
      "bulk.attribute.created_time": "created_on",
      "bulk.attribute.modified_time": "touched_at",
    };
    const before = Date.now() - 86_400_000;
    const fields = (created: number, touched: number) => ({
      date_entered: sugarDate(before),
      date_modified: sugarDate(before),
      created_on: sugarDate(created),
      touched_at: sugarDate(touched),
    });
    records.put("Cases", { id: "c-old", ...fields(before, before) });
    records.put("Cases", { id: "c-touched", ...fields(before, before) });
    const instance = await polledInstance("/bulk", "Cases", bulk);
    await nextPoll("Cases");
    const at = Date.now();
    // Two changes in one second, one to a page (pageCap 2, with the page's other record): `>` is
    // asked from the second before the checkpoint, so the second one's change is not skipped.
    records.put("Cases", { id: "c-touched", ...fields(before, at) });
    records.put("Cases", { id: "c-new", ...fields(at, at) });
    records.put("Cases", { id: "c-new2", ...fields(at, at) });
    const events = await until(() => {
      const got = vendorEvents("/bulk", instance.eventSigningSecret);
      return got.length >= 3 ? got : undefined;
    }, 20);
    expect(events.map((e) => [e.type, e.data.recordId]).sort()).toEqual([
      ["vendor.record.created", "c-new"],
      ["vendor.record.created", "c-new2"],
      ["vendor.record.updated", "c-touched"],
    ]);
    expect(events.find((e) => e.data.recordId === "c-touched")!.data.changedAt).toBe(new Date(Math.floor(at / 1000) * 1000).toISOString());
    const query = new URL(vendor.requests.filter((r) => r.path.startsWith("/rest/v10/Cases")).at(-1)!.path, "https://sugar.test")
      .searchParams;
    expect(query.get("order_by")).toBe("touched_at:ASC,id:ASC");
    expect(query.has("filter[0][date_modified][$gte]")).toBe(false);
    expect(query.get("filter[0][touched_at][$gt]")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
  });

  it("resumes a poll that failed midway without losing or repeating a change", async () => {
    const instance = await polledInstance("/resumed", "Leads");
    const at = Date.now();
    // Five changes in one second, two to a page: the poll fails on its second page.
    for (const id of ["r1", "r2", "r3", "r4", "r5"])
      records.put("Leads", { id, date_entered: sugarDate(at), date_modified: sugarDate(at) });
    records.failWith((request) => (request.path.startsWith("/rest/v10/Leads") && request.path.includes("offset=2") ? 500 : undefined));
    const afterFailure = await until(() => {
      const ids = vendorEvents("/resumed", instance.eventSigningSecret).map((e) => e.data.recordId);
      return ids.length >= 2 ? ids : undefined;
    }, 20);
    await until(() =>
      vendor.requests.some((r) => r.path.startsWith("/rest/v10/Leads") && r.path.includes("offset=2")) ? true : undefined,
    );
    expect(afterFailure.filter((id) => id.startsWith("r")).sort()).toEqual(["r1", "r2"]);
    records.failWith(undefined); // the next poll, after the backoff, goes through
    const ids = await until(() => {
      const got = vendorEvents("/resumed", instance.eventSigningSecret)
        .map((e) => e.data.recordId)
        .filter((id) => id.startsWith("r"));
      return got.length >= 5 ? got : undefined;
    }, 20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ids.sort()).toEqual(["r1", "r2", "r3", "r4", "r5"]);
    expect(vendorEvents("/resumed", instance.eventSigningSecret).filter((e) => e.data.recordId.startsWith("r")).length).toBe(5);
  });

  it("backs off when SugarCRM throttles, and marks the instance invalid when it refuses the credentials", async () => {
    const instance = await polledInstance("/refused", "Opportunities");
    await nextPoll("Opportunities");
    records.failWith((request) => (request.path.startsWith("/rest/v10/Opportunities") ? 429 : undefined));
    await nextPoll("Opportunities");
    const throttledAt = Date.now();
    await nextPoll("Opportunities"); // the interval (1 s) doubled: about 2 s later
    const throttledAgainAt = Date.now();
    records.failWith(undefined);
    revoked = true;
    try {
      await nextPoll("Opportunities"); // doubled again: about 4 s later
      expect(throttledAgainAt - throttledAt).toBeGreaterThan(1.5 * quickPolls.intervalFloorMs);
      expect(Date.now() - throttledAgainAt).toBeGreaterThan(3 * quickPolls.intervalFloorMs);
      const invalid = await until(() => receiver.received.find((r) => r.path === "/refused" && r.type === "instance.invalid"), 30);
      expect(new Webhook(instance.eventSigningSecret).verify(invalid.body, invalid.headers)).toMatchObject({
        data: { id: instance.id, valid: false },
      });
      expect(await body(await t.api(`/instances/${instance.id}`))).toMatchObject({ valid: false });
    } finally {
      revoked = false;
    }
  });
});
