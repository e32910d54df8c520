// An instance's event notifications as its configuration sets them: where they go, and the
// checks a write makes before it keeps them (a callback URL the server could send to; a callback
// URL at all when they are on), which a test event makes again of the stored ones.
import { InvalidConfigurationError } from "../connectors/errors.js";
import { CallbackUrlNotAllowedError } from "../events/errors.js";
import { OutboundError } from "../outbound/outbound.js";

export const enabledEntry = "event.notification.enabled";
export const callbackUrlEntry = "event.notification.callback.url";

/** Throws OutboundError "address-not-allowed" for a URL the server would never send to. */
export type CheckOutboundUrl = (url: URL) => Promise<void>;

type Configuration = Readonly<Record<string, string | null | undefined>>;

/** Where an instance's notifications go: its callback URL when they are on, else undefined. */
export function notificationTarget(configuration: Configuration): string | undefined {
  const url = configuration[callbackUrlEntry];
  return configuration[enabledEntry] === "true" && typeof url === "string" && url !== "" ? url : undefined;
}

/** Refuses (400) a callback URL in `configuration` that events could never be sent to. */
export async function checkCallbackUrl(checkOutboundUrl: CheckOutboundUrl, configuration: Configuration | undefined): Promise<void> {
  const url = configuration?.[callbackUrlEntry];
  if (typeof url !== "string" || url === "") return;
  const refusal = await callbackUrlRefusal(checkOutboundUrl, url);
  if (refusal !== undefined) throw new CallbackUrlNotAllowedError(url, refusal, `/body/configuration/${callbackUrlEntry}`);
}

/** Why events could not be sent to `url` now, or undefined when they could. */
export async function callbackUrlRefusal(checkOutboundUrl: CheckOutboundUrl, url: string): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "it is not an absolute URL";
  }
  try {
    await checkOutboundUrl(parsed);
  } catch (error) {
    if (error instanceof OutboundError) return error.message;
    throw error;
  }
  return undefined;
}

/** Why an instance sends no events, in words a Problem repeats; undefined when it sends them. */
export function whyNoEvents(configuration: Configuration): string | undefined {
  if (configuration[enabledEntry] !== "true") return `its ${enabledEntry} is not "true"`;
  if (notificationTarget(configuration) === undefined) return `it has no ${callbackUrlEntry}`;
  return undefined;
}

/** Refuses (400) notifications turned on with nowhere to send them. */
export function checkNotificationTarget(connector: string, configuration: Configuration): void {
  if (configuration[enabledEntry] === "true" && !configuration[callbackUrlEntry]) {
    throw new InvalidConfigurationError(connector, [
      { path: `/body/configuration/${callbackUrlEntry}`, message: `is required when ${enabledEntry} is "true"` },
    ]);
  }
}
