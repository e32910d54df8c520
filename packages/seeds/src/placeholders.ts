// The guides' placeholders (`<INSERT_FRESHSERVICE_PASSWORD>`) and how tests fill them in.
import type { Json, JsonObject } from "./read-seeds.js";

const placeholder = /^<INSERT_([A-Z0-9_]+)>$/;

export function isPlaceholder(value: Json): value is string {
  return typeof value === "string" && placeholder.test(value);
}

/**
 * A value for a placeholder that is valid wherever the guide uses it: lower-case words joined by
 * hyphens (`<INSERT_FRESHSERVICE_SUBDOMAIN_NAME_ONLY>` → `freshservice-subdomain-name-only`),
 * which is a subdomain, a host, a name and a tag alike. A suffix makes values unique per test.
 */
export function placeholderValue(value: string, suffix = ""): string {
  const words = placeholder.exec(value)?.[1];
  if (!words) throw new Error(`not a placeholder: ${value}`);
  return words.toLowerCase().replace(/_/g, "-") + suffix;
}

/** A deep copy of `value` with every placeholder string filled by `fill`. */
export function fillPlaceholders<T extends Json>(value: T, fill: (placeholder: string) => string = (p) => placeholderValue(p)): T {
  if (isPlaceholder(value)) return fill(value) as T;
  if (Array.isArray(value)) return value.map((item) => fillPlaceholders(item, fill)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillPlaceholders(v, fill)])) as T;
  }
  return value;
}

/** The configuration entries the request fills with a placeholder rather than a concrete value. */
export function placeholderEntries(request: JsonObject): string[] {
  const configuration = request.configuration as JsonObject;
  return Object.keys(configuration).filter((key) => isPlaceholder(configuration[key] ?? null));
}

/** The guide's Authorization header with the caller's secrets in place of its placeholders. */
export function fillAuthorization(template: string, secrets: { userSecret: string; organizationSecret: string }): string {
  return template.replace("<INSERT_USER_SECRET>", secrets.userSecret).replace("<INSERT_ORGANIZATION_SECRET>", secrets.organizationSecret);
}
