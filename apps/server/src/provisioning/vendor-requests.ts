// The requests a connector's declared check makes (spec: x-connector.credentialCheck), built
// from an instance's configuration: the check itself, the OAuth 2.0 password grant and the
// refresh-token grant (RFC 6749 §4.3 and §6).
import type { CredentialAuth, OAuth2PasswordCheck, RequestCheck } from "@instances-api/spec-tools";
import type { OutboundRequest } from "../outbound/outbound.js";
import { expandJson, expandTemplate, expandUrl, type TemplateValues } from "./templates.js";

export function checkRequest(connector: string, check: RequestCheck, values: TemplateValues): OutboundRequest {
  const request: OutboundRequest = {
    method: check.method,
    url: expandUrl(connector, check.url, values),
    headers: { accept: "application/json" },
  };
  return withAuth(connector, request, check.auth, values);
}

function withAuth(connector: string, request: OutboundRequest, auth: CredentialAuth, values: TemplateValues): OutboundRequest {
  const expand = (template: string) => expandTemplate(connector, template, values);
  const headers = { ...request.headers };
  switch (auth.type) {
    case "basic":
      headers.authorization = `Basic ${Buffer.from(`${expand(auth.username)}:${expand(auth.password)}`).toString("base64")}`;
      return { ...request, headers };
    case "bearer":
      headers.authorization = `Bearer ${expand(auth.token)}`;
      return { ...request, headers };
    case "header":
      headers[auth.name.toLowerCase()] = expand(auth.value);
      return { ...request, headers };
    case "body":
      headers["content-type"] = "application/json";
      return { ...request, headers, body: JSON.stringify(expandJson(connector, auth.json, values)) };
  }
}

function grantRequest(
  connector: string,
  check: OAuth2PasswordCheck,
  values: TemplateValues,
  parameters: Record<string, string>,
): OutboundRequest {
  const body = check.bodyEncoding === "json" ? JSON.stringify(parameters) : new URLSearchParams(parameters).toString();
  return {
    method: "POST",
    url: expandUrl(connector, check.tokenUrl, values),
    headers: {
      accept: "application/json",
      "content-type": check.bodyEncoding === "json" ? "application/json" : "application/x-www-form-urlencoded",
    },
    body,
  };
}

export function passwordGrantRequest(connector: string, check: OAuth2PasswordCheck, values: TemplateValues): OutboundRequest {
  const expand = (template: string) => expandTemplate(connector, template, values);
  return grantRequest(connector, check, values, {
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
  values: TemplateValues,
  refreshToken: string,
): OutboundRequest {
  const expand = (template: string) => expandTemplate(connector, template, values);
  return grantRequest(connector, check, values, {
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    client_id: expand(check.clientId),
    client_secret: expand(check.clientSecret),
    ...check.parameters,
  });
}
