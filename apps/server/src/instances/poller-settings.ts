// An instance's polling of its vendor as its configuration sets it (spec: x-connector.events):
// whether it is polled, how often and which resources, read by the poller; and the checks a write
// makes that the spec's schema cannot: event.poller.configuration's JSON, and the pair of entries
// that must name one field.
import type { ConfigurationValues, ConnectorEvents, PollingEvents } from "@instances-api/spec-tools";
import { defaultPoller } from "../config.js";
import { InvalidConfigurationError } from "../connectors/errors.js";
import { notificationTarget } from "./notifications.js";

export const vendorTypeEntry = "event.vendor.type";
export const refreshIntervalEntry = "event.poller.refresh_interval";
export const pollerConfigurationEntry = "event.poller.configuration";
export const queryFieldEntry = "bulk.query.field_name";
export const modifiedTimeEntry = "bulk.attribute.modified_time";

/** Resources one instance may watch at most. */
export const maxWatchedResources = 20;

const resourceName = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

type Configuration = Readonly<Record<string, string | null | undefined>>;

/** What polling an instance comes to: nothing, or its interval and watched resources. */
export type PollerSettings = { polled: false } | { polled: true; intervalMs: number; resources: string[] };

/**
 * Whether and how the instance is polled: its connector polls, its notifications are on with a
 * callback URL, and its event.vendor.type is `polling`. `configuration` is the whole of it,
 * defaults included. However short the interval it asks for, it is at least `floorMs` (POLLER_INTERVAL_FLOOR_MS).
 */
export function pollerSettings(
  events: ConnectorEvents,
  configuration: Configuration,
  floorMs = defaultPoller.intervalFloorMs,
): PollerSettings {
  if (events.type !== "polling") return { polled: false };
  if (notificationTarget(configuration) === undefined || configuration[vendorTypeEntry] !== "polling") return { polled: false };
  const minutes = Number(configuration[refreshIntervalEntry] ?? "15");
  const intervalMs = Math.max(floorMs, Number.isFinite(minutes) ? Math.round(minutes * 60_000) : 15 * 60_000);
  return { polled: true, intervalMs, resources: watchedOrDefault(events, configuration) };
}

/** The resources an instance watches: those its event.poller.configuration names, or the connector's defaults when it is blank. */
export function watchedOrDefault(events: PollingEvents, configuration: Configuration): string[] {
  const watched = watchedResources(configuration[pollerConfigurationEntry]);
  return watched.ok && watched.resources.length > 0 ? watched.resources : events.resources;
}

/**
 * Refuses (400) an event.poller.configuration that is neither blank nor a JSON object of resources,
 * and a bulk.query.field_name that is not bulk.attribute.modified_time: the vendor is asked for the
 * records whose field is at or after the checkpoint, and the checkpoint is read from the change
 * time, so two fields would skip or repeat changes. `configuration` is what the write sends (or the
 * whole of it), over the connector's defaults.
 */
export function checkPollerConfiguration(
  connector: { key: string; defaults: ConfigurationValues },
  configuration: Configuration | undefined,
): void {
  const values = { ...connector.defaults, ...configuration };
  const watched = watchedResources(values[pollerConfigurationEntry]);
  if (!watched.ok) {
    throw new InvalidConfigurationError(connector.key, [{ path: `/body/configuration/${pollerConfigurationEntry}`, message: watched.why }]);
  }
  const [queried, modified] = [values[queryFieldEntry], values[modifiedTimeEntry]];
  if (queried !== undefined && modified !== undefined && queried !== modified) {
    throw new InvalidConfigurationError(connector.key, [
      { path: `/body/configuration/${queryFieldEntry}`, message: `must name the same field as ${modifiedTimeEntry}` },
    ]);
  }
}

type Watched = { ok: true; resources: string[] } | { ok: false; why: string };

/** The resources a value of event.poller.configuration names; none for a blank one (the connector's defaults). */
function watchedResources(value: string | null | undefined): Watched {
  if (value === undefined || value === null || value.trim() === "") return { ok: true, resources: [] };
  const refusal: Watched = {
    ok: false,
    why: `is a JSON object keyed by resource name, each value an empty object (at most ${maxWatchedResources}), or blank`,
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return refusal;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return refusal;
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length > maxWatchedResources) return refusal;
  for (const [name, settings] of entries) {
    if (!resourceName.test(name)) return refusal;
    if (settings === null || typeof settings !== "object" || Array.isArray(settings) || Object.keys(settings).length > 0) return refusal;
  }
  return { ok: true, resources: entries.map(([name]) => name) };
}
