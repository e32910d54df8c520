// Each connector's x-connector.api (spec/README.md): the vendor API the proxy forwards an
// application's request to, the instance's credentials added. Stored credentials go only where the
// vendor accepted them, so the API's base URL, expanded over the create example's configuration,
// is https at the origin of the credential check's URL; its templates name only entries an instance
// has (its configuration, the platform's, the tokens its OAuth grant issues) and no secret rides in
// the URL.
import { readConnectors, readCreateExamples, type ConnectorDefinition } from "@instances-api/spec-tools";
import { describe, expect, it } from "vitest";
import { bundle, connectorSchemas } from "./bundle.js";
import { expand, reachable, referenced } from "./templates.js";

const connectors = readConnectors(bundle);
const examples = new Map(readCreateExamples(bundle).map(({ key, body }) => [key, body.configuration]));

/** An instance made from the connector's create example: the platform's entries, the defaults, the caller's. */
function exampleConfiguration(connector: ConnectorDefinition): Record<string, string | null> {
  return { ...connector.platformConfiguration, ...connector.defaults, ...examples.get(connector.key) };
}

/** The URL template the credential check sends the credentials to; none for a check that calls nothing. */
function checkUrl(connector: ConnectorDefinition): string | undefined {
  const check = connector.credentialCheck;
  if (check.type === "request") return check.url;
  if (check.type === "oauth2-password") return check.tokenUrl;
  return undefined;
}

/** Why the connector's API may not be sent the credentials, or undefined when it may. */
function originProblem(connector: ConnectorDefinition): string | undefined {
  const { api, platformConfiguration: platform } = connector;
  if (api.type !== "http") return undefined;
  const accepted = checkUrl(connector);
  if (accepted === undefined) return "its credential check calls nothing: no origin has accepted the credentials";
  const configuration = exampleConfiguration(connector);
  const base = new URL(expand(api.baseUrl, configuration, platform));
  const check = new URL(expand(accepted, configuration, platform));
  if (base.protocol !== "https:") return `its base URL ${base.href} is not https`;
  if (base.origin !== check.origin) return `its base URL's origin ${base.origin} is not the credential check's, ${check.origin}`;
  return undefined;
}

describe.each(connectors.map((connector) => [connector.key, connector] as const))("%s's API", (key, connector) => {
  const { api, platformConfiguration: platform } = connector;

  it("is declared, http or none with a reason", () => {
    expect(connectorSchemas.get(key)?.schema["x-connector"]).toHaveProperty("api");
    expect(["http", "none"]).toContain(api.type);
    if (api.type === "none") expect(api.reason).toMatch(/\w/);
  });

  it("is https at the origin the credential check sends the credentials to", () => {
    expect(originProblem(connector)).toBeUndefined();
  });

  it("names only the connector's entries, the platform's and the tokens its check issues", () => {
    const check = connector.credentialCheck;
    const issued = check.type === "oauth2-password" ? Object.values(check.tokens) : [];
    const known = new Set([...connector.entries.map((entry) => entry.key), ...Object.keys(platform), ...issued]);
    for (const name of reachable(referenced(api), platform)) expect(known.has(name), name).toBe(true);
  });

  it("puts no secret in its base URL and sends a credential", () => {
    if (api.type !== "http") return;
    for (const name of reachable(referenced(api.baseUrl), platform)) expect(connector.secretKeys.has(name), name).toBe(false);
    expect(reachable(referenced(api.auth), platform).some((name) => connector.secretKeys.has(name))).toBe(true);
  });
});

describe("the origin rule", () => {
  const freshservice = connectors.find((c) => c.key === "freshservice")!;
  const quickbooks = connectors.find((c) => c.key === "quickbooksonprem")!;
  const http = { type: "http" as const, auth: { type: "basic" as const, username: "{username}", password: "{password}" } };

  it.each([
    ["another host", freshservice, "https://{subdomain}.freshservice.com.example.net/api/v2", /origin .* is not the credential check's/],
    ["another port", freshservice, "https://{subdomain}.freshservice.com:8443/api/v2", /origin .* is not the credential check's/],
    ["plain http", freshservice, "http://{subdomain}.freshservice.com/api/v2", /is not https/],
    ["no check that was sent the credentials", quickbooks, "https://{host.ip}/qbxml", /calls nothing/],
  ] as const)("refuses a base URL on %s", (_name, connector, baseUrl, problem) => {
    expect(originProblem({ ...connector, api: { ...http, baseUrl } })).toMatch(problem);
  });
});
