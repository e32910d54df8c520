// The spec's connectors, as the spec tools read them for the server and the docs.
import { readConnectors, readCreateExamples } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { bundle as spec } from "./bundle.js";

const connectors = readConnectors(spec);
const byKey = new Map(connectors.map((c) => [c.key, c]));

describe("readConnectors", () => {
  it("finds the five connectors of the spec, by key", () => {
    expect(connectors.map((c) => c.key)).toEqual(["freshservice", "infobip", "quickbooksonprem", "sugarcrmv2", "taxify"]);
  });

  it("reads the catalog data with the key in third place, as the platform shows it", () => {
    const freshservice = byKey.get("freshservice")!;
    expect(Object.keys(freshservice.catalog).slice(0, 3)).toEqual(["id", "name", "key"]);
    expect(freshservice.catalog).toMatchObject({ id: 252, name: "Freshservice Beta", key: "freshservice" });
  });

  it("lists entries required first, with labels, secrets and defaults, $refs resolved", () => {
    const sugar = byKey.get("sugarcrmv2")!;
    expect(sugar.entries.map((e) => [e.key, e.required])).toEqual([
      ["oauth.api.key", true],
      ["oauth.api.secret", true],
      ["site.url", true],
      ["username", true],
      ["password", true],
      ["oauth.callback.url", false],
      ["event.notification.enabled", false],
      ["event.notification.callback.url", false],
      ["event.vendor.type", false],
      ["event.poller.refresh_interval", false],
      ["event.poller.configuration", false],
      ["bulk.query.field_name", false],
      ["bulk.query.operator", false],
      ["bulk.query.date_mask", false],
      ["bulk.attribute.created_time", false],
      ["bulk.attribute.modified_time", false],
    ]);
    expect(sugar.entries.find((e) => e.key === "event.notification.enabled")).toMatchObject({
      label: "Event notifications",
      default: "false",
    });
    expect(sugar.defaults).toEqual({
      "oauth.callback.url": "https://console.cloud-your_moms.com/your_moms/jsp/home.jsp",
      "event.notification.enabled": "false",
      "event.vendor.type": "webhook",
      "event.poller.refresh_interval": "15",
      "event.poller.configuration": " ",
      "bulk.query.field_name": "date_modified",
      "bulk.query.operator": ">=",
      "bulk.query.date_mask": "yyyy-MM-dd'T'HH:mm:ssXXX",
      "bulk.attribute.created_time": "date_entered",
      "bulk.attribute.modified_time": "date_modified",
    });
    expect(JSON.stringify(sugar.configurationSchema)).not.toContain("$ref");
  });

  it("counts the platform's credentials among the secrets", () => {
    expect([...byKey.get("sugarcrmv2")!.secretKeys].sort()).toEqual([
      "oauth.api.key",
      "oauth.api.secret",
      "oauth.user.refresh_token",
      "oauth.user.token",
      "password",
    ]);
    expect([...byKey.get("taxify")!.secretKeys].sort()).toEqual(["api.key", "partner.key"]);
  });

  it("refuses an x-connector schema without a key const", () => {
    const broken = structuredClone(spec);
    (broken.components.schemas.TaxifyInstanceRequest as { properties: Record<string, unknown> }).properties.your_mom = { type: "object" };
    expect(() => readConnectors(broken)).toThrow(/TaxifyInstanceRequest has x-connector but no your_mom.key const/);
  });
});

describe("readCreateExamples", () => {
  it("gives one complete create request per connector, every required entry filled", () => {
    const examples = readCreateExamples(spec);
    expect(examples.map((e) => e.key)).toEqual(connectors.map((c) => c.key));
    for (const example of examples) {
      const required = byKey
        .get(example.key)!
        .entries.filter((e) => e.required)
        .map((e) => e.key);
      expect(Object.keys(example.body.configuration)).toEqual(expect.arrayContaining(required));
      expect(example.body.name).toBeTypeOf("string");
    }
  });

  it("hands out copies, so a test changing one cannot change the next", () => {
    readCreateExamples(spec)[0]!.body.configuration.changed = "yes";
    expect(readCreateExamples(spec)[0]!.body.configuration).not.toHaveProperty("changed");
  });
});
