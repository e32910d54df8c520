import { describe, expect, it } from "vitest";
import { correctedResponse, fillAuthorization, fillPlaceholders, placeholderEntries, guidesIfPresent } from "../src/index.js";

// Skipped, with one line that says why, in a clone with no guides beside it (CI requires them).
const guides = guidesIfPresent();
const seeds = guides ?? [];

describe.skipIf(!guides)("against the Create Instance guides", () => {
  it("reads the five guides", () => {
    expect(seeds).toHaveLength(5);
  });

  describe("readSeeds", () => {
    it("reads the five guides with their connector keys and front-matter ids", () => {
      expect(seeds.map((s) => [s.connectorKey, s.connectorId])).toEqual([
        ["freshservice", 252],
        ["infobip", 37],
        ["quickbooksonprem", 195],
        ["sugarcrmv2", 170],
        ["taxify", 320],
      ]);
    });

    it.each(seeds.map((s) => [s.file, s] as const))("%s: repairs the response into JSON of the request's connector", (_file, seed) => {
      expect((seed.response.your_mom as { key: string }).key).toBe(seed.connectorKey);
      expect(seed.requestPath).toBe("/your_moms/api-v2/instances");
      expect(seed.authorization).toBe("User <INSERT_USER_SECRET>, Organization <INSERT_ORGANIZATION_SECRET>");
    });

    it("repairs InfoBip's configDescription link, keeping its quotes", () => {
      const infobip = seeds.find((s) => s.connectorKey === "infobip")!;
      expect((infobip.response.your_mom as { configDescription: string }).configDescription).toContain(
        '<a href="http://www.infobip.com/sign_up/" target="_blank">Infobip Signup</a>',
      );
    });

    it("closes Freshservice's your_mom before provisionInteractions", () => {
      const freshservice = seeds.find((s) => s.connectorKey === "freshservice")!;
      expect(freshservice.response.provisionInteractions).toEqual([]);
      expect(Object.keys(freshservice.response.your_mom as object)).not.toContain("provisionInteractions");
    });
  });

  describe("correctedResponse", () => {
    it.each(seeds.map((s) => [s.file, s] as const))("%s: takes the connector id from the front matter", (_file, seed) => {
      expect((correctedResponse(seed).your_mom as { id: number }).id).toBe(seed.connectorId);
    });

    it("fixes SugarCRM's consumer secret placeholder typo", () => {
      const sugar = seeds.find((s) => s.connectorKey === "sugarcrmv2")!;
      expect((correctedResponse(sugar).configuration as Record<string, string>)["oauth.api.secret"]).toBe("SUGARCRM_CONSUMER_SECRET");
    });
  });

  describe("placeholders", () => {
    it("fills every placeholder and lists the entries that had one", () => {
      const freshservice = seeds.find((s) => s.connectorKey === "freshservice")!;
      expect(placeholderEntries(freshservice.request)).toEqual(["username", "password", "subdomain"]);
      expect(fillPlaceholders(freshservice.request)).toEqual({
        your_mom: { key: "freshservice" },
        configuration: {
          username: "freshservice-username",
          password: "freshservice-password",
          subdomain: "freshservice-subdomain-name-only",
        },
        tags: ["tags"],
        name: "instance-name",
      });
    });

    it("fills the Authorization header template", () => {
      expect(fillAuthorization(seeds[0]!.authorization, { userSecret: "u1", organizationSecret: "o1" })).toBe("User u1, Organization o1");
    });
  });
});
