// An instance's vendor webhooks as its row keeps them (instances.vendor_hooks): the secret of its
// receiving URL, sealed for its organization, and the vendor's id of each hook registered, by
// resource. The secret's SHA-256 sits beside it (vendor_hook_hash): what a post is looked up by.
import { randomBytes } from "../secrets/random-bytes.js";

export interface HookState {
  sealedSecret: string;
  /** The vendor's id of the hook registered for each resource; none in sandbox (nothing registered). */
  hooks: Record<string, string>;
  /**
   * The origin of the vendor's API the hooks were registered at: when a change moves the instance
   * to another (its site.url), those hooks are at the old one, and their ids mean nothing at the
   * new one. Absent in a state stored before it was kept.
   */
  origin?: string;
}

export function decodeHookState(stored: string | undefined): HookState | undefined {
  return stored === undefined ? undefined : (JSON.parse(stored) as HookState);
}

export function encodeHookState(state: HookState): string {
  return JSON.stringify(state);
}

/** 256 random bits, base64url: the receiving URL's secret (`vh_` says what it is in a log a vendor shows). */
export function newHookSecret(): string {
  return `vh_${randomBytes(32).toString("base64url")}`;
}

/** Where the vendor posts a resource's changes: under the server's PUBLIC_URL and its API's base path. */
export function receivingUrl(publicUrl: string, basePath: string, secret: string, resource: string): string {
  return `${publicUrl}${basePath}${receivingPath(secret, resource)}`;
}

export const receivingPrefix = "/vendor-hooks/";

export function receivingPath(secret: string, resource: string): string {
  return `${receivingPrefix}${secret}/${encodeURIComponent(resource)}`;
}

/** The secret and the resource of a path under the base path, or undefined for any other path. */
export function parseReceivingPath(path: string): { secret: string; resource: string } | undefined {
  const matched = /^\/vendor-hooks\/(vh_[A-Za-z0-9_-]{43})\/([A-Za-z][A-Za-z0-9_]{0,99})$/.exec(path);
  return matched ? { secret: matched[1]!, resource: matched[2]! } : undefined;
}
