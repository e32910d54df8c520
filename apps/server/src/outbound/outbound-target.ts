// Where an outbound request may go: the checks on a URL as written, before anything is resolved
// (scheme, userinfo, an address literal), and on the addresses its host name resolves to. Shared
// by the create-time check (checkOutboundUrl) and the connector that checks every connection as it
// is made.
//
// What the caller wrote is refused as `address-not-allowed`: it tells them nothing they did not
// know. What a name resolves to is learnt from the network, so a name whose addresses are refused
// fails exactly as a name without any (`unreachable`, one message): otherwise the refusals would
// tell an internal DNS name from a missing one.
//
// The allowed hosts (OUTBOUND_ALLOWED_HOSTS, `host:port`) are for tests and local development:
// a URL whose own host:port is listed may use plain http and any address; an address:port that
// is listed (`127.0.0.1:8443`) may be connected to whatever name led there.
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import { classifyAddress } from "./address-policy.js";
import { OutboundError, timeoutError, unreachableError } from "./outbound.js";

export interface ResolvedAddress {
  address: string;
  /** 4 or 6 */
  family: number;
}

/** Resolves a host name to every address it has. The system's resolver by default; tests inject theirs. */
export type OutboundLookup = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** getaddrinfo, as Node's own connections use it (hosts file included), in the order it answers. */
export const systemLookup: OutboundLookup = (hostname) => dns.lookup(hostname, { all: true, order: "verbatim" });

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
  /** `host:port` in the allowed hosts' spelling. */
  endpoint: string;
  /** The URL's host as the caller wrote it (its port only when not the default): the one name every message gives. */
  host: string;
  /** The URL's own host:port is an allowed host: plain http and any address. */
  listed: boolean;
}

/** The target of `url`, or address-not-allowed when the URL as written may never be sent to. */
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
    throw notAllowed(url.host, `only https URLs are (not ${url.protocol.slice(0, -1)})`);
  }
  if (!listed && isIP(hostname) !== 0 && !classifyAddress(hostname).allowed) {
    throw notAllowed(url.host, "requests go to public addresses only");
  }
  return { hostname, port, endpoint, host: url.host, listed };
}

function notAllowed(host: string, why: string): OutboundError {
  return new OutboundError("address-not-allowed", `the address ${host ? `${host} ` : ""}is not allowed: ${why}`);
}

/**
 * Throws unless every address a name resolved to may be connected to: a public one, or an
 * allowed address:port. One refused address refuses the name, so that a resolver cannot slip a
 * private address in beside a public one. The refusal is `unreachable`, word for word the one of a
 * name that does not resolve: the addresses of a name are the network's answer, not the caller's
 * words, and telling the two apart would map a private network for whoever asked.
 */
export function checkAddresses(target: OutboundTarget, addresses: readonly ResolvedAddress[], allowedHosts: AllowedHosts): void {
  if (target.listed) return;
  for (const { address } of addresses) {
    if (classifyAddress(address).allowed || allowedHosts.has(endpointOf(address, target.port))) continue;
    throw unreachableError(target.host);
  }
}

/**
 * The addresses of the target: its own if it is an IP address, else what `lookup` answers within
 * `timeoutMs`. A name without addresses, or one the resolver fails on for any reason, is
 * `unreachable` (the resolver's error code is not repeated: it would tell NXDOMAIN from SERVFAIL).
 */
export async function resolveTarget(
  target: OutboundTarget,
  lookup: OutboundLookup,
  timeoutMs: number,
): Promise<readonly ResolvedAddress[]> {
  const family = isIP(target.hostname);
  if (family !== 0) return [{ address: target.hostname, family }];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(timeoutError(target.host)), timeoutMs);
  });
  let addresses: readonly ResolvedAddress[];
  try {
    addresses = await Promise.race([lookup(target.hostname), timeout]);
  } catch (error) {
    throw error instanceof OutboundError ? error : unreachableError(target.host);
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0) throw unreachableError(target.host);
  return addresses;
}
