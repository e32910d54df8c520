// Where a proxied request goes: the connector's API base URL (spec: x-connector.api.baseUrl,
// expanded over the instance's configuration as a credential check's URL is) with the caller's
// vendor path appended and its query as sent. The path can only go further down from the base:
// a dot segment, raw or percent-encoded, would climb out of it (`/rest/v10/../../admin`), as
// would one with a path parameter (`..;x`, which servlet containers such as Tomcat and Jetty read
// as `..`), and a backslash is read as a slash by some servers, so all are refused rather than
// resolved. So is a control character: raw ones never get past Node's parser, percent-encoded
// ones (`%00`, `%0d%0a`) would reach a vendor that decodes them.
import type { HttpApi } from "@instances-api/spec-tools";
import { InvalidRequestError } from "../errors.js";
import { expandUrl, type TemplateScope } from "../provisioning/templates.js";

const dotSegment = /(^|\/)(\.|%2e){1,2}(\/|;|$)/i;
const unsafePath = /[\\\p{Cc}\s]|%5c|%2f|%[01][0-9a-f]|%7f/iu;

/** The vendor's URL for `vendorPath` (as sent, after `/proxy/`, still percent-encoded) and `search` (`?a=b`, or empty). */
export function vendorUrl(connector: string, api: HttpApi, scope: TemplateScope, vendorPath: string, search: string): URL {
  if (dotSegment.test(vendorPath) || unsafePath.test(vendorPath)) {
    throw new InvalidRequestError(
      "A proxied path may not hold a . or .. segment, a backslash, an encoded slash, a space or a control character (raw or percent-encoded)",
    );
  }
  const base = expandUrl(connector, api.baseUrl, scope);
  const basePath = base.pathname.replace(/\/$/, "");
  const url = new URL(`${base.origin}${basePath}/${vendorPath}${search}`);
  // Belt and braces: whatever the parser made of it, it is below the base, at the base's origin.
  if (url.origin !== base.origin || !`${url.pathname}`.startsWith(`${basePath}/`)) {
    throw new InvalidRequestError("The proxied path leaves the vendor API's base URL");
  }
  return url;
}

/** The URL as logged and recorded: host and path, never the query (it may carry anything). */
export function recordedTarget(url: URL): { host: string; path: string } {
  return { host: url.host, path: url.pathname };
}
