// The templates of a credential check, expanded over a configuration: nested templates followed,
// and values a caller sends unable to change a URL's scheme, host or query.
import { describe, expect, it } from "vitest";
import { ProvisioningConfigurationError } from "../../src/provisioning/errors.js";
import { expandJson, expandUrl, reachableNames } from "../../src/provisioning/templates.js";

const sugar = { "oauth.token.url": "https://{site.url}/rest/v10/oauth2/token", "site.url": "acme.sugarondemand.com" };

describe("expandUrl", () => {
  it.each([
    ["a nested template", "{oauth.token.url}", sugar, "https://acme.sugarondemand.com/rest/v10/oauth2/token"],
    [
      "a host under a subdomain",
      "https://{subdomain}.freshservice.com/api/v2/agents/me",
      { subdomain: "acme" },
      "https://acme.freshservice.com/api/v2/agents/me",
    ],
    [
      "a leading entry that is a whole URL",
      "{base.url}/CalculateTax",
      { "base.url": "https://ws.taxify.co/core.asmx" },
      "https://ws.taxify.co/core.asmx/CalculateTax",
    ],
    [
      "a site with a port and a path",
      "{oauth.token.url}",
      { ...sugar, "site.url": "crm.example.com:8443/sugar" },
      "https://crm.example.com:8443/sugar/rest/v10/oauth2/token",
    ],
  ])("expands %s", (_name, template, values, want) => {
    expect(expandUrl("c", template, values).href).toBe(want);
  });

  it.each([
    ["user info that moves the host", "crm.example.com@10.0.0.1"],
    ["a query", "crm.example.com/?x=1"],
    ["a fragment", "crm.example.com#x"],
    ["a space", "crm example.com"],
    ["a backslash", "crm.example.com\\@10.0.0.1"],
    ["a scheme inside", "https://evil.example"],
    ["a control character", "crm.example.com\n"],
  ])("refuses a value with %s, naming the entry", (_name, site) => {
    let thrown: unknown;
    try {
      expandUrl("sugarcrmv2", "{oauth.token.url}", { ...sugar, "site.url": site });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProvisioningConfigurationError);
    expect((thrown as ProvisioningConfigurationError).fields).toMatchObject({ connector: "sugarcrmv2", entry: "site.url" });
  });

  it("refuses plain http and a missing entry", () => {
    expect(() => expandUrl("c", "http://{h}/", { h: "example.com" })).toThrow(/https only/);
    expect(() => expandUrl("c", "https://{h}/", {})).toThrow(ProvisioningConfigurationError);
    expect(() => expandUrl("c", "https://{h}/", {})).toThrow(/the configuration entry h is needed/);
  });
});

describe("expandJson and reachableNames", () => {
  it("expands every string of a JSON template and keeps the rest", () => {
    expect(expandJson("c", { Request: { Security: { Password: "{api.key}" }, IsCommitted: false } }, { "api.key": "k" })).toEqual({
      Request: { Security: { Password: "k" }, IsCommitted: false },
    });
  });

  it("follows entries whose values are templates", () => {
    expect([...reachableNames("{oauth.token.url}", sugar)].sort()).toEqual(["oauth.token.url", "site.url"]);
  });
});
