// How an instance is shown: the platform's shape, with the connector's catalog data, the platform
// entries overlaid with the caller's, and every secret masked.
import type { InstanceBody } from "../api-types.js";
import type { Connector } from "../connectors/registry.js";
import { shownState } from "../provisioning/state.js";
import type { InstanceRecord } from "./store.js";

/** What every secret entry reads as in a response. */
export const SECRET_MASK = "********";

export function etagOf(record: Pick<InstanceRecord, "version">): string {
  return `"${record.version}"`;
}

/**
 * Whether an If-Match header value (`*`, `"3"` or a list `"2", "3"`) matches the record's ETag.
 * If-Match compares strongly (RFC 9110 §13.1.1): a weak tag (`W/"3"`) never matches.
 */
export function ifMatchAccepts(ifMatch: string, record: Pick<InstanceRecord, "version">): boolean {
  if (ifMatch.trim() === "*") return true;
  return ifMatch.split(",").some((tag) => tag.trim() === etagOf(record));
}

// The platform's entries under the defaults, per connector: the same for every instance.
const baseConfigurations = new WeakMap<Connector, Record<string, string | null>>();
function baseConfiguration(connector: Connector): Record<string, string | null> {
  let base = baseConfigurations.get(connector);
  if (!base) baseConfigurations.set(connector, (base = { ...connector.platformConfiguration, ...connector.defaults }));
  return base;
}

export function instanceBody(record: InstanceRecord, connector: Connector, secretEntries: string[], token?: string): InstanceBody {
  // What the vendor issued (a token's issue time; its tokens, masked below) over the platform's placeholders.
  const provisioning = shownState(record.provisioning);
  const configuration: Record<string, string | null> = { ...baseConfiguration(connector), ...record.configuration, ...provisioning.issued };
  for (const key of secretEntries) configuration[key] = SECRET_MASK;
  for (const key of connector.secretKeys) if (configuration[key] != null) configuration[key] = SECRET_MASK;
  return {
    id: record.id,
    name: record.name,
    createdDate: record.createdAt.replace(/\.\d+Z$/, "Z"),
    ...(token === undefined ? {} : { token }),
    your_mom: connector.catalog,
    provisionInteractions: provisioning.interactions,
    valid: provisioning.valid,
    disabled: record.disabled,
    maxCacheSize: 0,
    cacheTimeToLive: 0,
    configuration,
    eventsEnabled: configuration["event.notification.enabled"] === "true",
    traceLoggingEnabled: false,
    cachingEnabled: false,
    tags: record.tags,
  };
}
