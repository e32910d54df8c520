// The templates of a credential check, expanded over a configuration: the platform's own nested
// templates followed, and values a caller sends kept as data, unable to change a URL's scheme,
// host or query, or to pull another entry's value in.
import { describe, expect, it } from "vitest";
import { ProvisioningConfigurationError } from "../../src/provisioning/errors.js";
import {
  expandJson,
  expandUrl,
  platformNames,
  reachableNames,
  templatePath,
  type TemplateScope,
  type TemplateValues,
} from "../../src/provisioning/templates.js";

const sugarPlatform = { "oauth.token.url": "https://{site.url}/rest/v10/oauth2/token" };
const sugar = { ...sugarPlatform, "site.url": "acme.sugarondemand.com", password: "p@ss", "oauth.api.secret": "cs" };

/** A scope whose platform entries are `platform`'s, the rest data. */
function scope(values: TemplateValues, platform: Record<string, string> = sugarPlatform): TemplateScope {
  return { values, templates: platformNames(platform, values) };
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("expandUrl", () => {
  it.each([
    ["a nested platform template", "{oauth.token.url}", scope(sugar), "https://acme.sugarondemand.com/rest/v10/oauth2/token"],
    [
      "a host under a subdomain",
      "https://{subdomain}.freshservice.com/api/v2/agents/me",
      scope({ subdomain: "acme" }),
      "https://acme.freshservice.com/api/v2/agents/me",
    ],
    [
      "a leading platform entry that is a whole URL",
      "{base.url}/CalculateTax",
      scope({ "base.url": "https://ws.taxify.co/core.asmx" }, { "base.url": "https://ws.taxify.co/core.asmx" }),
      "https://ws.taxify.co/core.asmx/CalculateTax",
    ],
    [
      "a site with a port and a path",
      "{oauth.token.url}",
      scope({ ...sugar, "site.url": "crm.example.com:8443/sugar" }),
      "https://crm.example.com:8443/sugar/rest/v10/oauth2/token",
    ],
  ])("expands %s", (_name, template, given, want) => {
    expect(expandUrl("c", template, given).href).toBe(want);
  });

  it.each([
    ["user info that moves the host", "crm.example.com@10.0.0.1"],
    ["a query", "crm.example.com/?x=1"],
    ["a fragment", "crm.example.com#x"],
    ["a space", "crm example.com"],
    ["a backslash", "crm.example.com\\@10.0.0.1"],
    ["a scheme inside", "https://evil.example"],
    ["a control character", "crm.example.com\n"],
    ["a placeholder naming a secret (fixed: it expanded the password into the path)", "example.com/{password}/{oauth.api.secret}"],
    ["a placeholder hiding a fragment (fixed: it cut the token path off)", "evil.test#{username}"],
    ["a lone brace", "example.com/}"],
  ])("refuses a value with %s, naming the entry", (_name, site) => {
    const thrown = thrownBy(() => expandUrl("sugarcrmv2", "{oauth.token.url}", scope({ ...sugar, username: "u", "site.url": site })));
    expect(thrown).toBeInstanceOf(ProvisioningConfigurationError);
    expect((thrown as ProvisioningConfigurationError).fields).toMatchObject({ connector: "sugarcrmv2", entry: "site.url" });
  });

  it("puts a caller's value in as data: a value that looks like a template is never expanded", () => {
    // A data entry whose value names another one: it is not a URL piece here, so it stays literal.
    const given = scope({ ...sugar, "site.url": "acme.example", username: "{password}" });
    const json = expandJson("c", { user: "{username}" }, given);
    expect(json).toEqual({ user: "{password}" });
  });

  it("checks the final URL: no user, and no query or fragment the platform's template does not have", () => {
    const platform = { "x.url": "https://{host}/a" };
    // A platform template that itself brings a query is allowed one.
    const withQuery = { "x.url": "https://{host}/a?b=1" };
    expect(expandUrl("c", "{x.url}", scope({ ...withQuery, host: "h.example" }, withQuery)).search).toBe("?b=1");
    expect(expandUrl("c", "{x.url}", scope({ ...platform, host: "h.example" }, platform)).search).toBe("");
  });

  it("refuses plain http and a missing entry", () => {
    expect(() => expandUrl("c", "http://{h}/", scope({ h: "example.com" }))).toThrow(/https only/);
    expect(() => expandUrl("c", "https://{h}/", scope({}))).toThrow(ProvisioningConfigurationError);
    expect(() => expandUrl("c", "https://{h}/", scope({}))).toThrow(/the configuration entry h is needed/);
  });
});

describe("templatePath", () => {
  it.each([
    [
      "SugarCRM's token URL, whatever the site holds",
      "{oauth.token.url}",
      scope({ ...sugar, "site.url": "crm.example.com/secret-path" }),
      "/rest/v10/oauth2/token",
    ],
    ["Freshservice's check", "https://{subdomain}.freshservice.com/api/v2/agents/me", scope({ subdomain: "acme" }), "/api/v2/agents/me"],
    [
      "Taxify's platform base URL",
      "{base.url}/CalculateTax",
      scope({ "base.url": "https://ws.taxify.co/core.asmx" }, { "base.url": "https://ws.taxify.co/core.asmx" }),
      "/core.asmx/CalculateTax",
    ],
    ["a query left out", "https://api.example/v1/me?x={key}", scope({ key: "k" }, {}), "/v1/me"],
  ])("is the platform's path for %s", (_name, template, given, want) => {
    expect(templatePath("c", template, given)).toBe(want);
  });
});

describe("expandJson and reachableNames", () => {
  it("expands every string of a JSON template and keeps the rest", () => {
    expect(expandJson("c", { Request: { Security: { Password: "{api.key}" }, IsCommitted: false } }, scope({ "api.key": "k" }))).toEqual({
      Request: { Security: { Password: "k" }, IsCommitted: false },
    });
  });

  it("follows the platform's templates, never a caller's value", () => {
    expect([...reachableNames("{oauth.token.url}", scope(sugar))].sort()).toEqual(["oauth.token.url", "site.url"]);
    const hostile = scope({ ...sugar, "site.url": "example.com/{password}" });
    expect([...reachableNames("{oauth.token.url}", hostile)].sort()).toEqual(["oauth.token.url", "site.url"]);
  });
});
