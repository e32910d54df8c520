// An instance's vendor webhooks as its configuration sets them (spec: x-connector.events.webhooks):
// whether the vendor is asked to post its changes here, for which resources; and the check a write
// makes that the server can receive them at all (it needs its PUBLIC_URL).
import type { ConnectorEvents } from "@instances-api/spec-tools";
import { InvalidConfigurationError } from "../connectors/errors.js";
import { notificationTarget } from "./notifications.js";
import { vendorTypeEntry, watchedOrDefault } from "./poller-settings.js";

type Configuration = Readonly<Record<string, string | null | undefined>>;

/** What receiving an instance's vendor webhooks comes to: nothing, or the resources hooked. */
export type VendorHookSettings = { hooked: false } | { hooked: true; resources: string[] };

/**
 * Whether and for which resources the instance's vendor posts its changes here: its connector has
 * a hook API, its event.vendor.type is `webhook` and its notifications are on with a callback URL.
 * `configuration` is the whole of it, defaults included.
 */
export function vendorHookSettings(events: ConnectorEvents, configuration: Configuration): VendorHookSettings {
  if (events.type !== "polling" || events.webhooks === undefined) return { hooked: false };
  if (configuration[vendorTypeEntry] !== "webhook" || notificationTarget(configuration) === undefined) return { hooked: false };
  return { hooked: true, resources: watchedOrDefault(events, configuration) };
}

/**
 * Refuses (400) vendor webhooks this server cannot receive: turned on (event.vendor.type `webhook`
 * with notifications on) for a connector that has a hook API, on a server without PUBLIC_URL.
 * With notifications off, as the guides send them, nothing is hooked and nothing is refused.
 */
export function checkVendorHooksReceivable(
  connector: string,
  events: ConnectorEvents,
  configuration: Configuration,
  publicUrl: string | undefined,
): void {
  if (publicUrl !== undefined || !vendorHookSettings(events, configuration).hooked) return;
  throw new InvalidConfigurationError(connector, [
    {
      path: `/body/configuration/${vendorTypeEntry}`,
      // At most 129 characters, as the spec bounds an invalid part's message.
      message: `is "webhook" with notifications on, which needs the server's PUBLIC_URL (unset here): use "polling" instead`,
    },
  ]);
}
