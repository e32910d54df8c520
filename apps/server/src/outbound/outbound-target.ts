// Where an outbound request may go: the checks on a URL before anything is resolved (scheme,
// userinfo), and on the addresses its host resolves to. Shared by the create-time check
// (checkOutboundUrl) and the connector that checks every connection as it is made.
//
// The allowed hosts (OUTBOUND_ALLOWED_HOSTS, `host:port`) are for tests and local development:
// a URL whose own host:port is listed may use plain http and any address; an address:port that
// is listed (`127.0.0.1:8443`) may be connected to whatever name led there.
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import { classifyAddress } from "./address-policy.js";
import { OutboundError } from "./outbound.js";

export interface ResolvedAddress {
  address: string;
  /** 4 or 6 */
  family: number;
}

/** Resolves a host name to every address it has. The system's resolver by default; tests inject theirs. */
export type OutboundLookup = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** getaddrinfo, as Node's own connections use it (hosts file included), in the order it answers. */
export const systemLookup: OutboundLookup = (hostname) => dns.lookup(hostname, { all: true, order: "verbatim" });

/** How a resolver says a name has no address (getaddrinfo's and c-ares's spellings). */
const unresolvableCodes = new Set(["ENOTFOUND", "EAI_NONAME", "EAI_NODATA", "ENODATA", "EAI_AGAIN", "EAI_FAIL", "ESERVFAIL", "ENONAME"]);

/** The allowed `host:port` entries, each spelled as `endpointOf` spells a target. */
export type AllowedHosts = ReadonlySet<string>;

export function allowedHostSet(entries: readonly string[]): AllowedHosts {
  const set = new Set<string>();
  for (const entry of entries) {
    const separator = entry.lastIndexOf(":");
    const port = Number(entry.slice(separator + 1));
    const host = entry.slice(0, separator).replace(/^\[(.*)\]$/, "$1");
    if (separator > 0 && Number.isInteger(port)) set.add(endpointOf(host, port));
  }
  return set;
}

/**
 * `host:port` in the one spelling the allowed hosts are compared in: as the WHATWG URL parser
 * writes a host (lower case, IPv4 as a dotted quad, IPv6 compressed in brackets).
 */
export function endpointOf(host: string, port: number): string {
  const hostname = URL.parse(`http://${isIP(host) === 6 ? `[${host}]` : host}/`)?.hostname ?? host.toLowerCase();
  return `${hostname}:${port}`;
}

export interface OutboundTarget {
  /** The host as a connection needs it: a name, or an IP address without brackets. */
  hostname: string;
  port: number;
  /** `host:port`, for messages and the allowed hosts. */
  endpoint: string;
  /** The URL's own host:port is an allowed host: plain http and any address. */
  listed: boolean;
}

/** The target of `url`, or address-not-allowed when no connection to it may ever be made. */
export function outboundTarget(url: URL, allowedHosts: AllowedHosts): OutboundTarget {
  // Never echoed, not even in the refusal: credentials in a URL are secrets, and they have no
  // place there (each vendor's credentials travel in headers or bodies).
  if (url.username !== "" || url.password !== "") {
    throw new OutboundError("address-not-allowed", "the address is not allowed: a URL must not carry a user name or password");
  }
  const port = Number(url.port) || (url.protocol === "http:" ? 80 : 443);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const endpoint = endpointOf(hostname, port);
  const listed = allowedHosts.has(endpoint);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && listed)) {
    throw new OutboundError(
      "address-not-allowed",
      `the address ${endpoint} is not allowed: only https URLs are (not ${url.protocol.slice(0, -1)})`,
    );
  }
  return { hostname, port, endpoint, listed };
}

/**
 * Throws address-not-allowed unless every address may be connected to: a public one, or an
 * allowed address:port. One refused address refuses the name, so that a resolver cannot slip a
 * private address in beside a public one. The message names the host, never the addresses it
 * resolved to (which would map a private network for whoever asked).
 */
export function checkAddresses(target: OutboundTarget, addresses: readonly ResolvedAddress[], allowedHosts: AllowedHosts): void {
  if (target.listed) return;
  for (const { address } of addresses) {
    if (classifyAddress(address).allowed || allowedHosts.has(endpointOf(address, target.port))) continue;
    throw new OutboundError(
      "address-not-allowed",
      `the address of ${target.endpoint} is not allowed: requests go to public addresses only`,
    );
  }
}

/** The addresses of the target: its own if it is an IP address, else what `lookup` answers within `timeoutMs`. */
export async function resolveTarget(
  target: OutboundTarget,
  lookup: OutboundLookup,
  timeoutMs: number,
): Promise<readonly ResolvedAddress[]> {
  const family = isIP(target.hostname);
  if (family !== 0) return [{ address: target.hostname, family }];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new OutboundError("timeout", `${target.endpoint} did not resolve within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const addresses = await Promise.race([lookup(target.hostname), timeout]);
    if (addresses.length === 0) throw new OutboundError("unresolvable", `${target.endpoint} does not resolve to any address`);
    return addresses;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && unresolvableCodes.has(code)) {
      throw new OutboundError("unresolvable", `${target.endpoint} does not resolve (${code})`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
