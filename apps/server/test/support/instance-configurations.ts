// The configurations of instances on the fake vendors (test-support/fake-vendor.ts), with the
// credentials the fakes take: a SugarCRM reached as `sugar.test:<port>`, a Freshservice as
// `acme.freshservice.com`; and the entries that turn their events on, polled or through SugarCRM's
// web logic hooks. What a test adds or overrides is spread over them.
import { goodPassword, type FakeVendor } from "../../test-support/fake-vendor.js";

export function sugarcrmConfiguration(vendor: FakeVendor, site = "sugar.test"): Record<string, string> {
  return {
    "oauth.api.key": "key-1234567",
    "oauth.api.secret": "secret-1234567",
    "site.url": `${site}:${vendor.port}`,
    username: "sales",
    password: goodPassword,
  };
}

/** Freshservice's `acme` help desk (the server names it `https://acme.freshservice.com`). */
export function freshserviceConfiguration(): Record<string, string> {
  return { username: "api-key-1234", password: goodPassword, subdomain: "acme" };
}

/** Events to `callbackUrl` (notifications on). */
export function eventsTo(callbackUrl: string): Record<string, string> {
  return { "event.notification.enabled": "true", "event.notification.callback.url": callbackUrl };
}

/** Events to `callbackUrl`, of the vendor's changes to `resources` (SugarCRM's through its hooks, unless polled). */
export function vendorEventsOf(callbackUrl: string, resources: readonly string[]): Record<string, string> {
  return {
    ...eventsTo(callbackUrl),
    "event.poller.configuration": JSON.stringify(Object.fromEntries(resources.map((resource) => [resource, {}]))),
  };
}

/** Polled every `minutes` (0.01: as often as POLLER_INTERVAL_FLOOR_MS lets it), rather than through hooks. */
export function polledEvery(minutes = "0.01"): Record<string, string> {
  return { "event.vendor.type": "polling", "event.poller.refresh_interval": minutes };
}
