// How an instance is shown, a pure module: the platform's entries under the caller's, secrets
// masked whatever their source, the token only when given, and If-Match compared strongly.
import { describe, expect, it } from "vitest";
import { etagOf, ifMatchAccepts, instanceBody, SECRET_MASK } from "../../src/instances/representation.js";
import type { InstanceRecord } from "../../src/instances/store.js";
import type { Connector } from "../../src/connectors/registry.js";

const connector = {
  key: "c",
  catalog: { id: 1, name: "C", key: "c" },
  platformConfiguration: { "base.url": "https://{site}/api", "issued.token": "PLACEHOLDER", "event.notification.enabled": "false" },
  defaults: { region: "eu" },
  secretKeys: new Set(["password", "issued.token"]),
} as unknown as Connector;

const record = (over: Partial<InstanceRecord> = {}): InstanceRecord => ({
  id: 3,
  organizationId: 1,
  connectorKey: "c",
  name: "n",
  tags: ["t"],
  configuration: { site: "acme.example", "event.notification.enabled": "true" },
  sealedSecrets: "sealed",
  secretKeys: ["password"],
  disabled: false,
  version: 4,
  createdAt: "2026-12-06T10:00:00.123Z",
  provisioning: undefined,
  refreshDueAt: null,
  vendorHooks: undefined,
  ...over,
});

describe("instanceBody", () => {
  it("overlays the caller's entries on the platform's and the defaults, and masks every secret", () => {
    const body = instanceBody(record(), connector, ["password"]);
    expect(body.configuration).toEqual({
      "base.url": "https://{site}/api",
      "issued.token": SECRET_MASK,
      "event.notification.enabled": "true",
      region: "eu",
      site: "acme.example",
      password: SECRET_MASK,
    });
    expect(body).toMatchObject({ id: 3, createdDate: "2026-12-06T10:00:00Z", eventsEnabled: true, valid: true, provisionInteractions: [] });
    expect(body).not.toHaveProperty("token");
  });

  it("shows the token only when given, and what the vendor issued (not secret) over the platform's placeholders", () => {
    const provisioning = JSON.stringify({ valid: false, interactions: [], issued: { "issued.at": "123" } });
    const body = instanceBody(record({ provisioning }), connector, ["password"], "tok");
    expect(body).toMatchObject({ token: "tok", valid: false });
    expect(body.configuration?.["issued.at"]).toBe("123");
  });
});

describe("ETag and If-Match", () => {
  it.each([
    ['"4"', true],
    ["*", true],
    ['"3", "4"', true],
    ['W/"4"', false],
    ['"3"', false],
    ["4", false],
  ])("If-Match %s against version 4: %s", (ifMatch, accepted) => {
    expect(etagOf(record())).toBe('"4"');
    expect(ifMatchAccepts(ifMatch, record())).toBe(accepted);
  });
});
