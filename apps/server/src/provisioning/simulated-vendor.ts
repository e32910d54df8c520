// The sandbox's vendor (PROVISIONING=sandbox, the default): answers every credential check and
// token grant without the network, so that `npm start` and the guides' requests work offline.
// A secret entry whose value is exactly `invalid-credentials` makes it refuse; `vendor-unavailable`
// makes it unreachable. Tokens are random, valid for an hour, as SugarCRM's are.
import { randomBytes } from "../secrets/random-bytes.js";
import { OutboundError, type OutboundSend } from "../outbound/outbound.js";

export const sandboxRefusingValue = "invalid-credentials";
export const sandboxUnavailableValue = "vendor-unavailable";
/** How long a simulated access token lasts, in seconds. */
export const sandboxTokenLifetimeSeconds = 3600;

export function simulatedVendor(secrets: readonly string[]): OutboundSend {
  return (request) => {
    if (secrets.includes(sandboxUnavailableValue)) {
      return Promise.reject(
        new OutboundError("unreachable", `simulated: ${request.url.host} is unavailable (a secret entry is "${sandboxUnavailableValue}")`),
      );
    }
    const refused = secrets.includes(sandboxRefusingValue);
    const body = refused
      ? {
          error: "invalid_grant",
          error_description: `simulated: the vendor refused the credentials (a secret entry is "${sandboxRefusingValue}")`,
        }
      : {
          access_token: randomBytes(24).toString("base64url"),
          refresh_token: randomBytes(24).toString("base64url"),
          expires_in: sandboxTokenLifetimeSeconds,
          token_type: "bearer",
        };
    return Promise.resolve({
      status: refused ? 401 : 200,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      truncated: false,
    });
  };
}
