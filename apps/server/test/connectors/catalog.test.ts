// The connector catalog, read from the spec: GET /your_moms and GET /your_moms/{key}.
import { guidesIfPresent } from "@instances-api/seeds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

describe("GET /your_moms", () => {
  it("lists the five connectors with their catalog ids", async () => {
    const response = await t.api("/your_moms");
    expect(response.status).toBe(200);
    const connectors = await body<{ key: string; id: number }[]>(response);
    expect(connectors.map((c) => [c.key, c.id])).toEqual([
      ["freshservice", 252],
      ["infobip", 37],
      ["quickbooksonprem", 195],
      ["sugarcrmv2", 170],
      ["taxify", 320],
    ]);
  });

  // The ids above are the guides' own (skipped, with a note, in a clone with no guides beside it).
  const guides = guidesIfPresent();
  it.skipIf(!guides)("lists the guides' connectors with the guides' ids", async () => {
    const connectors = await body<{ key: string; id: number }[]>(await t.api("/your_moms"));
    expect(connectors.map((c) => [c.key, c.id])).toEqual(guides!.map((s) => [s.connectorKey, s.connectorId]));
  });
});

describe("GET /your_moms/{key}", () => {
  it("describes each entry and carries the configuration's JSON Schema", async () => {
    const response = await t.api("/your_moms/sugarcrmv2");
    expect(response.status).toBe(200);
    const connector = await body<{
      configuration: ({ key: string } & Record<string, unknown>)[];
      configurationSchema: { required: string[] };
    }>(response);
    expect(connector).toMatchObject({ id: 170, key: "sugarcrmv2", name: "SugarCRM Beta" });
    const entries: Record<string, unknown> = Object.fromEntries(connector.configuration.map((e) => [e.key, e]));
    expect(entries.password).toMatchObject({ label: "Password", type: "string", required: true, secret: true });
    expect(entries["oauth.callback.url"]).toMatchObject({
      required: false,
      secret: false,
      default: "https://console.cloud-your_moms.com/your_moms/jsp/home.jsp",
    });
    expect(entries["event.notification.enabled"]).toMatchObject({ required: false, default: "false" });
    expect(connector.configuration.slice(0, 5).every((e) => e.required)).toBe(true);
    expect(connector.configurationSchema.required).toEqual(["oauth.api.key", "oauth.api.secret", "site.url", "username", "password"]);
    expect(JSON.stringify(connector.configurationSchema)).not.toContain("$ref");
  });

  it("answers 404 for an unknown key", async () => {
    const response = await t.api("/your_moms/freshdesk");
    expect(response.status).toBe(404);
    expect((await body(response)).message).toMatch(/Known connectors: freshservice/);
  });
});
