// The templates of a credential check (`https://{subdomain}.freshservice.com/...`), expanded over
// an instance's configuration. A value that is itself a template (SugarCRM's oauth.token.url,
// `https://{site.url}/rest/v10/oauth2/token`) is expanded in turn, a few levels deep at most.
import { ProvisioningConfigurationError } from "./errors.js";

export type TemplateValues = Readonly<Record<string, string | null | undefined>>;

const placeholder = /\{([^{}]+)\}/g;
const maxDepth = 4;

/** The names a template refers to, directly. */
export function templateNames(template: string): string[] {
  return [...template.matchAll(placeholder)].map((m) => m[1]!);
}

/** Every name a template refers to, following entries whose values are templates themselves. */
export function reachableNames(template: string, values: TemplateValues): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string, depth: number) => {
    if (seen.has(name) || depth > maxDepth) return;
    seen.add(name);
    for (const next of templateNames(values[name] ?? "")) visit(next, depth + 1);
  };
  for (const name of templateNames(template)) visit(name, 0);
  return seen;
}

/**
 * The template with every `{entry}` replaced by the entry's value. `check` vets each value a
 * caller supplied before it is put in (a URL refuses characters that would change its shape).
 */
export function expandTemplate(
  connector: string,
  template: string,
  values: TemplateValues,
  check?: (entry: string, value: string, leading: boolean) => void,
  depth = 0,
): string {
  if (depth > maxDepth) throw new ProvisioningConfigurationError(connector, `the template ${template} nests too deep`);
  return template.replace(placeholder, (_all, name: string, offset: number) => {
    const value = values[name];
    if (value === undefined || value === null)
      throw new ProvisioningConfigurationError(connector, `the configuration entry ${name} is needed to check the credentials`, name);
    if (templateNames(value).length) return expandTemplate(connector, value, values, check, depth + 1);
    check?.(name, value, offset === 0);
    return value;
  });
}

// What a value put into a URL may not hold: it would move the host (`@`, `\`), start a query or
// fragment, or be no URL at all (whitespace, control characters).
const unsafeInUrl = /[\s@\\?#\p{Cc}]/u;

/** The URL a template names, `https:` only, its inserted values unable to change its shape. */
export function expandUrl(connector: string, template: string, values: TemplateValues): URL {
  // A template that opens with an entry takes its scheme and host from it (Taxify's {base.url},
  // a platform entry); anywhere else a value is part of a host or a path.
  const text = expandTemplate(connector, template, values, (entry, value, leading) => {
    if (unsafeInUrl.test(value) || (!leading && value.includes("://"))) {
      throw new ProvisioningConfigurationError(
        connector,
        `the configuration entry ${entry} cannot be part of a URL: it holds a character such as @, ?, # or a space`,
        entry,
      );
    }
  });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ProvisioningConfigurationError(connector, "the configuration does not form a valid URL to check the credentials at");
  }
  if (url.protocol !== "https:") throw new ProvisioningConfigurationError(connector, "the credentials are checked over https only");
  return url;
}

/** A JSON template with each string value expanded (keys are kept as written). */
export function expandJson(connector: string, template: unknown, values: TemplateValues): unknown {
  if (typeof template === "string") return expandTemplate(connector, template, values);
  if (Array.isArray(template)) return template.map((item) => expandJson(connector, item, values));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, expandJson(connector, value, values)]));
  }
  return template;
}
