// Each connector's x-connector.credentialCheck (its shape is linted by .spectral.yaml): its
// templates name only the connector's own entries, no secret travels in a URL (URLs end up in
// logs and in provisionInteractions), and the entries an OAuth grant fills are the platform's,
// its tokens secret.
import { describe, expect, it } from "vitest";
import { connectorSchemas, resolve, secretEntries } from "./bundle.js";
import { reachable, referenced } from "./templates.js";

interface Check {
  type: string;
  url?: string;
  tokenUrl?: string;
  auth?: Record<string, unknown>;
  tokens?: Record<string, string>;
  accepted?: number[];
  refused?: number[];
  reason?: string;
  [key: string]: unknown;
}

const cases = [...connectorSchemas].map(([key, { schema }]) => {
  const extension = schema["x-connector"] as (typeof schema)["x-connector"] & { credentialCheck?: Check };
  const own = Object.keys(schema.properties.configuration.properties);
  const platform = extension.platformConfiguration;
  return [key, { check: extension.credentialCheck, own, platform, secrets: secretEntries(schema), schema }] as const;
});

describe.each(cases)("%s's credential check", (_key, { check, own, platform, secrets }) => {
  it("is declared", () => {
    expect(check).toBeDefined();
    expect(["request", "oauth2-password", "none"]).toContain(check?.type);
  });

  it("names only the connector's own entries and the platform's", () => {
    const known = new Set([...own, ...Object.keys(platform)]);
    for (const name of reachable(referenced(check), platform)) expect(known.has(name), name).toBe(true);
  });

  it("puts no secret in a URL", () => {
    const url = check?.url ?? check?.tokenUrl;
    if (url === undefined) return;
    for (const name of reachable(referenced(url), platform)) expect(secrets.has(name), name).toBe(false);
  });

  it("tells accepted from refused", () => {
    if (check?.type === "none") {
      expect(check.reason).toMatch(/\w/);
      return;
    }
    const accepted = check?.accepted ?? [];
    expect(accepted.length).toBeGreaterThan(0);
    for (const status of check?.refused ?? []) expect(accepted).not.toContain(status);
  });

  it("keeps the tokens an OAuth grant issues in the platform's entries, secret", () => {
    if (check?.type !== "oauth2-password") return;
    const tokens = check.tokens ?? {};
    for (const entry of Object.values(tokens)) expect(Object.keys(platform)).toContain(entry);
    expect(secrets.has(tokens.accessToken!)).toBe(true);
    expect(secrets.has(tokens.refreshToken!)).toBe(true);
    expect(secrets.has(tokens.issuedAt!)).toBe(false);
  });
});

it("every connector's secret entries are sent by its check, unless it has no check", () => {
  for (const [key, { check, schema }] of cases) {
    if (check?.type === "none") continue;
    const callerSecrets = Object.entries(schema.properties.configuration.properties)
      .filter(([, entry]) => resolve(entry).writeOnly === true)
      .map(([name]) => name);
    const sent = new Set(referenced(check));
    for (const secret of callerSecrets) expect(sent.has(secret), `${key}: ${secret}`).toBe(true);
  }
});
