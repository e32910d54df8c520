// proxy(): a request to the vendor's own API, made through the platform with an instance's
// credentials (the spec's "Calling the vendor's API"). The vendor path may span segments, which
// openapi-fetch's path parameters would encode as one (`Contacts%2Fabc`, refused by the server):
// each segment is encoded on its own here instead.
import type { InstancesClient } from "./types.js";

export interface ProxyRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The path below the vendor API's base URL: `Contacts`, `Contacts/9b1e/link/accounts` (a leading `/` is dropped). */
  path: string;
  /** The query string, as name → value (a list repeats the name). */
  query?: Record<string, string | number | boolean | readonly (string | number | boolean)[]>;
  /** Sent as JSON, unless a string or bytes (then as it is: set `Content-Type` in `headers`). */
  body?: unknown;
  /** Headers for the vendor (its own, such as `Accept`); the credentials are the platform's to put in. */
  headers?: Record<string, string>;
}

/**
 * Sends `request` to the vendor's API of instance `instanceId` (or of the instance the client's
 * `instanceToken` names: `"current"`), with the instance's credentials put in by the platform, and
 * resolves to the answer, unread. The vendor's own answers carry `X-Proxied-From` (see
 * `isVendorAnswer`): any status from the vendor is the vendor's, not a failure of the call. An
 * answer without it is the platform's own Problem (401, 404, 409 credentials-not-usable, 429,
 * 502, 504...).
 *
 * @example
 * const answer = await proxy(client, 123, { method: "GET", path: "Contacts", query: { max_num: 1 } });
 * if (isVendorAnswer(answer)) console.log(answer.status, await answer.json());
 */
export async function proxy(client: InstancesClient, instanceId: number | "current", request: ProxyRequest): Promise<Response> {
  const vendorPath = request.path
    .replace(/^\/+/, "")
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
  const pathSerializer = (pathname: string) =>
    pathname.replace("{id}", encodeURIComponent(String(instanceId))).replace("{path}", vendorPath);
  const body = request.body;
  const raw = typeof body === "string" || body instanceof Uint8Array;
  const options = {
    params: { path: instanceId === "current" ? { path: request.path } : { id: instanceId, path: request.path }, query: request.query },
    ...(body === undefined ? {} : { body }),
    ...(raw ? { bodySerializer: (value: unknown) => value } : {}),
    headers: request.headers ?? {},
    pathSerializer,
    parseAs: "stream" as const,
  };
  const path = instanceId === "current" ? "/instance/proxy/{path}" : "/instances/{id}/proxy/{path}";
  // One call for five methods: openapi-fetch types each method and path apart, so the options are
  // checked against the spec above (params) and the method is picked here.
  const call = client[request.method] as unknown as (path: string, options: unknown) => Promise<{ response: Response }>;
  const { response } = await call(path, options);
  return response;
}

/** Whether an answer is the vendor's own (its status, headers and body, passed on), not the platform's. */
export function isVendorAnswer(response: Response): boolean {
  return response.headers.has("X-Proxied-From");
}
