// Each connector's x-connector.events (spec/README.md): how changes in the vendor's data become
// events. A polled connector's templates name only its entries (the platform's and the caller's)
// and the poll's own values; its operators cover the guide's bulk.query.operator; and the entries
// that steer polling are ones a caller may set, with a default. A connector that polls nothing
// says why, and lets nobody set the poller's entries.
import { readConnectors } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { bundle } from "./bundle.js";
import { reachable, referenced } from "./templates.js";

const connectors = readConnectors(bundle);
const pollValues = ["resource", "since", "operator", "offset", "page"];
const pollerEntries = ["event.vendor.type", "event.poller.refresh_interval", "event.poller.configuration"];

describe.each(connectors.map((connector) => [connector.key, connector] as const))("%s's vendor events", (_key, connector) => {
  const { events, platformConfiguration: platform } = connector;
  const settable = new Map(connector.entries.map((entry) => [entry.key, entry]));

  it("poll with templates over the connector's entries and the poll's own values, or say why not", () => {
    if (events.type === "none") return expect(events.reason).toMatch(/\w/);
    const known = new Set([...settable.keys(), ...Object.keys(platform), ...pollValues]);
    const { type: _type, operators: _operators, webhooks: _webhooks, ...templated } = events;
    for (const name of reachable(referenced(templated), platform)) expect(known.has(name), name).toBe(true);
    const operator = platform["bulk.query.operator"];
    if (operator) expect(events.operators).toHaveProperty([operator]);
    expect(events.nextOffset === undefined, "one way to know a next page").not.toBe(events.nextPage === undefined);
  });

  it("register the vendor's webhooks with only the registration's own values in their templates", () => {
    if (events.type === "none" || events.webhooks === undefined) return;
    const { register, remove } = events.webhooks;
    expect([...new Set(referenced({ path: register.path, body: register.body }))].sort()).toEqual(["receivingUrl", "resource"]);
    expect([...referenced({ path: remove.path })]).toEqual(["hookId"]);
    expect(events.webhooks.record).toMatch(/^\//);
  });

  it("let a caller set the poller's entries, with defaults, only when the vendor is polled", () => {
    for (const key of pollerEntries) {
      if (events.type === "none") expect(settable.has(key), key).toBe(false);
      else expect(settable.get(key)?.default, key).toEqual(expect.any(String));
    }
  });
});
