// An instance's polling as its configuration sets it (instances/poller-settings.ts), table-driven;
// and the entries that steer it, settable on SugarCRM (400 for a poller configuration that is not
// a JSON object of resources, and for bulk entries SugarCRM's filter or the poller cannot honour),
// refused as unknown on a connector that polls nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PollingEvents } from "@instances-api/spec-tools";
import { pollerSettings, type PollerSettings } from "../../src/instances/poller-settings.js";
import { body, startTestServer, type TestServer } from "../harness.js";

const events = { type: "polling", resources: ["Accounts", "Contacts"] } as PollingEvents;
const on = {
  "event.notification.enabled": "true",
  "event.notification.callback.url": "https://hooks.example.com/a",
  "event.vendor.type": "polling",
};

describe("pollerSettings", () => {
  it.each<[string, { given: Record<string, string>; want: PollerSettings }]>([
    [
      "polls the connector's resources every 15 minutes by default",
      { given: on, want: { polled: true, intervalMs: 900_000, resources: ["Accounts", "Contacts"] } },
    ],
    [
      "takes decimal minutes",
      {
        given: { ...on, "event.poller.refresh_interval": "0.5" },
        want: { polled: true, intervalMs: 30_000, resources: ["Accounts", "Contacts"] },
      },
    ],
    [
      "never polls more often than every 5 seconds",
      {
        given: { ...on, "event.poller.refresh_interval": "0.001" },
        want: { polled: true, intervalMs: 5_000, resources: ["Accounts", "Contacts"] },
      },
    ],
    [
      "a blank poller configuration means the connector's resources",
      {
        given: { ...on, "event.poller.configuration": " " },
        want: { polled: true, intervalMs: 900_000, resources: ["Accounts", "Contacts"] },
      },
    ],
    [
      "watches the resources the poller configuration names",
      {
        given: { ...on, "event.poller.configuration": '{"Leads": {}}' },
        want: { polled: true, intervalMs: 900_000, resources: ["Leads"] },
      },
    ],
    ["polls nothing with notifications off", { given: { ...on, "event.notification.enabled": "false" }, want: { polled: false } }],
    ["polls nothing without a callback URL", { given: { ...on, "event.notification.callback.url": "" }, want: { polled: false } }],
    ["polls nothing when the vendor type is webhook", { given: { ...on, "event.vendor.type": "webhook" }, want: { polled: false } }],
  ])("%s", (_name, { given, want }) => {
    expect(pollerSettings(events, given)).toEqual(want);
  });

  it("never polls more often than the floor it is given (POLLER_INTERVAL_FLOOR_MS), nor less often than asked", () => {
    const asked = (minutes: string) => ({ ...on, "event.poller.refresh_interval": minutes });
    expect(pollerSettings(events, asked("0"), 1_000)).toMatchObject({ intervalMs: 1_000 });
    expect(pollerSettings(events, asked("0.05"), 1_000)).toMatchObject({ intervalMs: 3_000 });
  });

  it("polls nothing for a connector that declares no polling", () => {
    expect(pollerSettings({ type: "none", reason: "none" }, on)).toEqual({ polled: false });
  });
});

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const sugar = (configuration: Record<string, string>) => ({
  your_mom: { key: "sugarcrmv2" },
  configuration: {
    "oauth.api.key": "key-1234567",
    "oauth.api.secret": "secret-1234567",
    "site.url": "crm.example.com",
    username: "sales",
    password: "s3cret-Passw0rd",
    ...configuration,
  },
  name: "polled",
});

describe("the poller's entries", () => {
  it("are settable on SugarCRM, shown with the guide's values as defaults", async () => {
    const created = await t.api("/instances", {
      method: "POST",
      json: sugar({ "event.vendor.type": "polling", "event.poller.refresh_interval": "1.5" }),
    });
    expect(created.status).toBe(200);
    const { configuration } = await body<{ configuration: Record<string, string> }>(created);
    expect(configuration).toMatchObject({
      "event.vendor.type": "polling",
      "event.poller.refresh_interval": "1.5",
      "event.poller.configuration": " ",
    });
    const plain = await body<{ configuration: Record<string, string> }>(await t.api("/instances", { method: "POST", json: sugar({}) }));
    expect(plain.configuration["event.vendor.type"]).toBe("webhook");
  });

  it.each(["[]", '{"Contacts": true}', '{"../x": {}}', "{not json", '{"Contacts": {"fields": "a"}}'])(
    "refuses the poller configuration %s",
    async (value) => {
      const refused = await t.api("/instances", { method: "POST", json: sugar({ "event.poller.configuration": value }) });
      expect(refused.status).toBe(400);
      expect(await body(refused)).toMatchObject({ errors: [{ path: "/body/configuration/event.poller.configuration" }] });
    },
  );

  it("include SugarCRM's bulk entries, settable, with the guide's values as defaults", async () => {
    const plain = await body<{ configuration: Record<string, string> }>(await t.api("/instances", { method: "POST", json: sugar({}) }));
    expect(plain.configuration).toMatchObject({
      "bulk.query.field_name": "date_modified",
      "bulk.query.operator": ">=",
      "bulk.query.date_mask": "yyyy-MM-dd'T'HH:mm:ssXXX",
      "bulk.attribute.created_time": "date_entered",
      "bulk.attribute.modified_time": "date_modified",
    });
    const bulk = {
      "bulk.query.field_name": "touched_at",
      "bulk.query.operator": ">",
      "bulk.query.date_mask": "yyyy-MM-dd'T'HH:mm:ssXXX",
      "bulk.attribute.created_time": "created_on",
      "bulk.attribute.modified_time": "touched_at",
    };
    const created = await t.api("/instances", { method: "POST", json: sugar(bulk) });
    expect(created.status).toBe(200);
    const { id, configuration } = await body<{ id: number; configuration: Record<string, string> }>(created);
    expect(configuration).toMatchObject(bulk);
    const patched = await t.api(`/instances/${id}`, {
      method: "PATCH",
      json: { configuration: { "bulk.query.operator": ">=", "bulk.query.field_name": null, "bulk.attribute.modified_time": null } },
    });
    expect(patched.status).toBe(200);
    expect((await body<{ configuration: Record<string, string> }>(patched)).configuration).toMatchObject({
      "bulk.query.operator": ">=",
      "bulk.attribute.created_time": "created_on",
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ["a field name that is not an identifier", { "bulk.query.field_name": "date_modified]" }, "bulk.query.field_name"],
    ["a field name with a space", { "bulk.attribute.created_time": "date entered" }, "bulk.attribute.created_time"],
    ["an empty change-time field", { "bulk.attribute.modified_time": "" }, "bulk.attribute.modified_time"],
    ["an operator that selects no range of change times", { "bulk.query.operator": "$equals" }, "bulk.query.operator"],
    ["the operator <=", { "bulk.query.operator": "<=" }, "bulk.query.operator"],
    ["another date mask", { "bulk.query.date_mask": "yyyy-MM-dd" }, "bulk.query.date_mask"],
    ["a queried field that is not the change-time field", { "bulk.query.field_name": "date_entered" }, "bulk.query.field_name"],
    [
      "a change-time field that is not the queried field",
      { "bulk.attribute.modified_time": "touched_at", "bulk.query.field_name": "date_modified" },
      "bulk.query.field_name",
    ],
  ])("refuses %s (400 naming the entry)", async (_name, configuration, entry) => {
    const refused = await t.api("/instances", { method: "POST", json: sugar(configuration) });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await body(refused))).toContain(`/body/configuration/${entry}`);
  });

  it("refuses a PATCH that moves the change-time field away from the queried one", async () => {
    const { id } = await body<{ id: number }>(await t.api("/instances", { method: "POST", json: sugar({}) }));
    const refused = await t.api(`/instances/${id}`, {
      method: "PATCH",
      json: { configuration: { "bulk.attribute.modified_time": "touched_at" } },
    });
    expect(refused.status).toBe(400);
    expect(await body(refused)).toMatchObject({ errors: [{ path: "/body/configuration/bulk.query.field_name" }] });
  });

  it("are settable on Freshservice, shown with the guide's values as defaults", async () => {
    const freshservice = (configuration: Record<string, string>) => ({
      your_mom: { key: "freshservice" },
      configuration: { username: "a", password: "b", subdomain: "acme", ...configuration },
      name: "x",
    });
    const plain = await body<{ configuration: Record<string, string | null> }>(
      await t.api("/instances", { method: "POST", json: freshservice({}) }),
    );
    expect(plain.configuration).toMatchObject({
      "event.vendor.type": "polling",
      "event.poller.refresh_interval": "15",
      "event.poller.configuration": " ",
      "event.notification.subscription.id": null,
    });
    const set = { "event.vendor.type": "none", "event.poller.refresh_interval": "0.5", "event.poller.configuration": '{"changes": {}}' };
    const created = await t.api("/instances", { method: "POST", json: freshservice(set) });
    expect(created.status).toBe(200);
    expect((await body<{ configuration: Record<string, string> }>(created)).configuration).toMatchObject(set);
    for (const refused of [{ "event.vendor.type": "webhook" }, { "event.notification.subscription.id": "42" }] as Record<
      string,
      string
    >[]) {
      expect((await t.api("/instances", { method: "POST", json: freshservice(refused) })).status).toBe(400);
    }
  });

  it("stay unknown on a connector that polls nothing", async () => {
    const refused = await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "taxify" }, configuration: { "api.key": "a-key", "event.vendor.type": "polling" }, name: "x" },
    });
    expect(refused.status).toBe(400);
  });
});
