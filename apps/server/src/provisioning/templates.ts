// The templates of a credential check (`https://{subdomain}.freshservice.com/...`), expanded over
// an instance's configuration. Only the platform's own templates, from the spec, are expanded in
// turn (SugarCRM's oauth.token.url, `https://{site.url}/rest/v10/oauth2/token`): a value a caller
// sent, or one the vendor issued, is data and goes in as it is, so that `{password}` inside a
// caller's `site.url` can never carry another entry's secret into a URL, a log or an answer.
import { ProvisioningConfigurationError } from "./errors.js";

export type TemplateValues = Readonly<Record<string, string | null | undefined>>;

/** What a template is expanded over: every value by name, and which names hold the platform's templates. */
export interface TemplateScope {
  values: TemplateValues;
  /**
   * The names whose values are the platform's own text (spec: x-connector.platformConfiguration),
   * templates or not: only these are expanded in turn. Every other value is data.
   */
  templates: ReadonlySet<string>;
}

const placeholder = /\{([^{}]+)\}/g;
const maxDepth = 4;

/** The names of a connector's platform entries that still hold the platform's own text among `values`. */
export function platformNames(platformConfiguration: Readonly<Record<string, string | null>>, values: TemplateValues): Set<string> {
  return new Set(
    Object.entries(platformConfiguration)
      .filter(([name, value]) => typeof value === "string" && values[name] === value)
      .map(([name]) => name),
  );
}

/** The names a template refers to, directly. */
export function templateNames(template: string): string[] {
  return [...template.matchAll(placeholder)].map((m) => m[1]!);
}

/** Every name a template refers to, following the platform's templates (never a caller's value). */
export function reachableNames(template: string, scope: TemplateScope): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string, depth: number) => {
    if (seen.has(name) || depth > maxDepth) return;
    seen.add(name);
    if (scope.templates.has(name)) for (const next of templateNames(scope.values[name] ?? "")) visit(next, depth + 1);
  };
  for (const name of templateNames(template)) visit(name, 0);
  return seen;
}

/**
 * The template with every `{entry}` replaced: a platform template by its own expansion, any
 * other entry by its value as it is. `check` vets each value put in (a URL refuses characters
 * that would change its shape). With `keep`, the names it returns true for stay as `{name}`.
 */
export function expandTemplate(
  connector: string,
  template: string,
  scope: TemplateScope,
  check?: (entry: string, value: string, leading: boolean) => void,
  keep?: (entry: string) => boolean,
  depth = 0,
): string {
  if (depth > maxDepth) throw new ProvisioningConfigurationError(connector, `the template ${template} nests too deep`);
  return template.replace(placeholder, (all, name: string, offset: number) => {
    if (keep?.(name)) return all;
    const value = scope.values[name];
    if (value === undefined || value === null)
      throw new ProvisioningConfigurationError(connector, `the configuration entry ${name} is needed to check the credentials`, name);
    if (scope.templates.has(name)) return expandTemplate(connector, value, scope, check, keep, depth + 1);
    check?.(name, value, offset === 0);
    return value;
  });
}

// What a value put into a URL may not hold: it would move the host (`@`, `\`), start a query or
// fragment, look like a template (`{`, `}`), or be no URL at all (whitespace, control characters).
const unsafeInUrl = /[\s@\\?#{}\p{Cc}]/u;

/** The URL a template names, `https:` only, its inserted values unable to change its shape. */
export function expandUrl(connector: string, template: string, scope: TemplateScope): URL {
  // A template that opens with an entry takes its scheme and host from it (Taxify's {base.url},
  // a platform entry); anywhere else a value is part of a host or a path.
  const text = expandTemplate(connector, template, scope, (entry, value, leading) => {
    if (unsafeInUrl.test(value) || (!leading && value.includes("://"))) {
      throw new ProvisioningConfigurationError(
        connector,
        `the configuration entry ${entry} cannot be part of a URL: it holds a character such as @, ?, #, {, } or a space`,
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
  // The shape is checked again on the final URL: whatever was put in, it has no user, and a query
  // or a fragment only where the platform's template itself has one.
  const shape = expandTemplate(connector, template, scope, undefined, (name) => !scope.templates.has(name));
  if (url.username || url.password || (url.search && !shape.includes("?")) || (url.hash && !shape.includes("#"))) {
    throw new ProvisioningConfigurationError(connector, "the configuration does not form a valid URL to check the credentials at");
  }
  return url;
}

/**
 * The path of the URL a template names as the platform wrote it, its data entries left as
 * `{name}`: what an instance's interactions show, so that no caller text is ever recorded there.
 */
export function templatePath(connector: string, template: string, scope: TemplateScope): string {
  const shape = expandTemplate(connector, template, scope, undefined, (name) => !scope.templates.has(name));
  const afterOrigin = shape.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "").replace(/^\{[^{}]+\}/, "");
  const path = afterOrigin.split(/[?#]/)[0] ?? "";
  return path.startsWith("/") ? path : `/${path}`;
}

/** A JSON template with each string value expanded (keys are kept as written). */
export function expandJson(connector: string, template: unknown, scope: TemplateScope): unknown {
  if (typeof template === "string") return expandTemplate(connector, template, scope);
  if (Array.isArray(template)) return template.map((item) => expandJson(connector, item, scope));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, expandJson(connector, value, scope)]));
  }
  return template;
}
