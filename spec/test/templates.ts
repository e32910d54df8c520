// The `{entry}` templates of x-connector (credentialCheck, api), read the way the server reads
// them: a platform entry whose value is itself a template is followed in turn, any other value is
// data. The server's own expander lives in apps/server, which depends on this package, so the spec's
// tests keep this small reading of their own.

const placeholder = /\{([^{}]+)\}/g;

/** The `{entry}` names a template (or every string inside a value) refers to. */
export function referenced(value: unknown): string[] {
  if (typeof value === "string") return [...value.matchAll(placeholder)].map((m) => m[1]!);
  if (Array.isArray(value)) return value.flatMap(referenced);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(referenced);
  return [];
}

/** The entries a template refers to, following platform entries that are templates themselves. */
export function reachable(names: string[], platform: Record<string, string | null>): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const next of referenced(platform[name] ?? "")) visit(next);
  };
  names.forEach(visit);
  return [...seen];
}

/**
 * The template with each `{entry}` replaced by its value in `configuration`; a value that is still
 * the platform's own text (`platform[entry]`) is expanded in turn. Throws on an entry without a value.
 */
export function expand(
  template: string,
  configuration: Record<string, string | null>,
  platform: Record<string, string | null>,
  depth = 0,
): string {
  if (depth > 4) throw new Error(`${template} nests too deep`);
  return template.replace(placeholder, (_all, name: string) => {
    const value = configuration[name];
    if (value === undefined || value === null) throw new Error(`${template}: no value for {${name}}`);
    return platform[name] === value ? expand(value, configuration, platform, depth + 1) : value;
  });
}
