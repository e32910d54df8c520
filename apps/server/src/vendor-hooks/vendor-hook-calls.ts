// The vendor's side of its webhooks: registering one (for a resource, pointed at a receiving URL)
// and removing one, in its API (x-connector.events.webhooks) with the instance's credentials,
// through the outbound guard, only to the origin the vendor accepted them at. Values in, an
// outcome out: no store, no timer, no sealing.
import type { HttpApi, VendorWebhooks } from "@instances-api/spec-tools";
import type { Readable } from "node:stream";
import type { OutboundStream } from "../outbound/guarded-stream.js";
import { deadlineSignal } from "../outbound/guarded-stream.js";
import { valueAt } from "../provisioning/json-pointer.js";
import type { InstanceCredentials } from "../provisioning/provisioner.js";
import { originRefusal } from "../provisioning/provisioner.js";
import { expandUrl } from "../provisioning/templates.js";
import { credentialPlacement } from "../provisioning/vendor-requests.js";

/** What a call is made with: the vendor's API, its webhooks, the instance's credentials. */
export interface HookCallTarget {
  api: HttpApi;
  webhooks: VendorWebhooks;
  credentials: InstanceCredentials;
}

export interface HookCallLimits {
  timeoutMs: number;
  /** An answer's body at most. */
  responseMaxBytes: number;
}

/** A call the vendor refused or failed; `status` when it answered. */
export class HookCallFailure extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Registers the vendor's hook of `resource`, posting to `url`; the vendor's id of it. */
export async function registerHook(
  stream: OutboundStream,
  target: HookCallTarget,
  limits: HookCallLimits,
  resource: string,
  url: string,
): Promise<string> {
  const { register } = target.webhooks;
  const body = Object.fromEntries(
    Object.entries(register.body).map(([name, value]) => [
      name,
      value.replaceAll("{resource}", resource).replaceAll("{receivingUrl}", url),
    ]),
  );
  const answer = await call(stream, target, limits, register.method, register.path, JSON.stringify(body));
  if (answer.status < 200 || answer.status > 299) throw new HookCallFailure(`the vendor answered ${answer.status}`, answer.status);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    throw new HookCallFailure("the vendor's answer is not JSON", answer.status);
  }
  const id = valueAt(parsed, register.hookId);
  if ((typeof id !== "string" && typeof id !== "number") || !hookIdShape.test(String(id)))
    throw new HookCallFailure(`the vendor's answer has no id at ${register.hookId}`);
  return String(id);
}

/**
 * What a vendor's hook id may be: it goes into the removal's path and into the instance's row, so
 * an id such as `..` (which would make the removal a DELETE of the path above) or a huge one is
 * refused as no id at all. SugarCRM's are UUIDs.
 */
const hookIdShape = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** Removes the vendor's hook `hookId`; one the vendor no longer has (404) counts as removed. */
export async function removeHook(stream: OutboundStream, target: HookCallTarget, limits: HookCallLimits, hookId: string): Promise<void> {
  const { remove } = target.webhooks;
  const answer = await call(stream, target, limits, remove.method, remove.path.replace("{hookId}", encodeURIComponent(hookId)), null);
  if (answer.status === 404 || (answer.status >= 200 && answer.status <= 299)) return;
  throw new HookCallFailure(`the vendor answered ${answer.status}`, answer.status);
}

/** The origin of the vendor's API that `target`'s calls go to (its site.url's, for SugarCRM). */
export function hookApiOrigin(target: HookCallTarget): string {
  return expandUrl(target.credentials.connector.key, target.api.baseUrl, target.credentials.scope).origin;
}

async function call(
  stream: OutboundStream,
  target: HookCallTarget,
  limits: HookCallLimits,
  method: string,
  path: string,
  body: string | null,
): Promise<{ status: number; text: string }> {
  const { credentials, api } = target;
  const key = credentials.connector.key;
  const base = expandUrl(key, api.baseUrl, credentials.scope);
  const url = new URL(`${base.origin}${base.pathname.replace(/\/$/, "")}${path}`);
  const refusal = originRefusal({ url }, credentials.acceptedOrigin);
  if (refusal !== undefined) throw new HookCallFailure(refusal);
  const { headers } = credentialPlacement(key, api.auth, credentials.scope, url);
  const deadline = deadlineSignal(url.host, limits.timeoutMs);
  try {
    const response = await stream({
      method,
      url,
      headers: { accept: "application/json", ...(body === null ? {} : { "content-type": "application/json" }), ...headers },
      body: body === null ? null : Buffer.from(body),
      signal: deadline.signal,
    });
    return { status: response.status, text: await readCapped(response.body, limits.responseMaxBytes) };
  } catch (error) {
    if (error instanceof HookCallFailure) throw error;
    throw new HookCallFailure(`the vendor could not be reached: ${(error as Error).message}`);
  } finally {
    deadline.clear();
  }
}

async function readCapped(body: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) {
      body.destroy();
      throw new HookCallFailure(`the vendor's answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
