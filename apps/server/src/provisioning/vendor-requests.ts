// The requests a connector's declared check makes (spec: x-connector.credentialCheck), built
// from an instance's configuration: the check itself, the OAuth 2.0 password grant and the
// refresh-token grant (RFC 6749 §4.3 and §6). Each carries the path its template names, as the
// platform wrote it: what the instance's interactions record, never text built from its values.
import type { CredentialAuth, OAuth2PasswordCheck, RequestCheck } from "@instances-api/spec-tools";
import { InvalidRequestError } from "../errors.js";
import type { OutboundRequest } from "../outbound/outbound.js";
import { expandJson, expandTemplate, expandUrl, templatePath, type TemplateScope } from "./templates.js";

export interface VendorRequest extends OutboundRequest {
  /** The template's path (`/rest/v10/oauth2/token`, `/api/v2/agents/me`), for the interactions. */
  recordedPath: string;
}

export function checkRequest(connector: string, check: RequestCheck, scope: TemplateScope): VendorRequest {
  const request: VendorRequest = {
    method: check.method,
    url: expandUrl(connector, check.url, scope),
    recordedPath: templatePath(connector, check.url, scope),
    headers: { accept: "application/json" },
  };
  return withAuth(connector, request, check.auth, scope);
}

/**
 * What a request to `url` carries the credentials in, as `auth` declares it: headers to set (names
 * in lower case), or a JSON object whose entries go into the body. Secrets in clear: only in memory.
 */
export function credentialPlacement(
  connector: string,
  auth: CredentialAuth,
  scope: TemplateScope,
  url: URL,
): { headers: Record<string, string>; json?: Record<string, unknown> } {
  const expand = (template: string) => expandTemplate(connector, template, scope);
  switch (auth.type) {
    case "basic":
      return { headers: { authorization: `Basic ${Buffer.from(`${expand(auth.username)}:${expand(auth.password)}`).toString("base64")}` } };
    case "bearer":
      return { headers: { authorization: `Bearer ${expand(auth.token)}` } };
    case "header":
      return { headers: { [auth.name.toLowerCase()]: expand(auth.value) } };
    case "body": {
      const json = expandJson(connector, auth.json, scope) as Record<string, unknown>;
      return { headers: {}, json: auth.under === "operation" ? { [operationOf(url)]: json } : json };
    }
  }
}

// A letter first: never `__proto__`, which an object literal or a merge would read as the prototype.
const operationName = /^[A-Za-z][A-Za-z0-9_]*$/;

/** The operation an ASMX JSON service's URL calls: its path's last segment (`…/JSONService.asmx/CalculateTax`). */
function operationOf(url: URL): string {
  const last = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
  if (!operationName.test(last)) {
    throw new InvalidRequestError(
      "This connector's API names the operation in the path's last segment (for example /proxy/CalculateTax): a letter, then letters, digits and underscores",
    );
  }
  return last;
}

function withAuth(connector: string, request: VendorRequest, auth: CredentialAuth, scope: TemplateScope): VendorRequest {
  const placed = credentialPlacement(connector, auth, scope, request.url);
  const headers = { ...request.headers, ...placed.headers };
  if (placed.json === undefined) return { ...request, headers };
  return { ...request, headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(placed.json) };
}

function grantRequest(
  connector: string,
  check: OAuth2PasswordCheck,
  scope: TemplateScope,
  parameters: Record<string, string>,
): VendorRequest {
  const body = check.bodyEncoding === "json" ? JSON.stringify(parameters) : new URLSearchParams(parameters).toString();
  return {
    method: "POST",
    url: expandUrl(connector, check.tokenUrl, scope),
    recordedPath: templatePath(connector, check.tokenUrl, scope),
    headers: {
      accept: "application/json",
      "content-type": check.bodyEncoding === "json" ? "application/json" : "application/x-www-form-urlencoded",
    },
    body,
  };
}

export function passwordGrantRequest(connector: string, check: OAuth2PasswordCheck, scope: TemplateScope): VendorRequest {
  const expand = (template: string) => expandTemplate(connector, template, scope);
  return grantRequest(connector, check, scope, {
    grant_type: "password",
    client_id: expand(check.clientId),
    client_secret: expand(check.clientSecret),
    username: expand(check.username),
    password: expand(check.password),
    ...check.parameters,
  });
}

export function refreshGrantRequest(
  connector: string,
  check: OAuth2PasswordCheck,
  scope: TemplateScope,
  refreshToken: string,
): VendorRequest {
  const expand = (template: string) => expandTemplate(connector, template, scope);
  return grantRequest(connector, check, scope, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: expand(check.clientId),
    client_secret: expand(check.clientSecret),
    ...check.parameters,
  });
}
