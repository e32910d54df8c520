// Which IP addresses the server may send a request to on its own: public unicast ones only. Every
// other range (loopback, private, link-local with the cloud metadata address, carrier-grade NAT,
// multicast, documentation, benchmarking, reserved...) is refused, so that a URL a user names
// cannot reach the server's own machine or network (SSRF, OWASP API7). The range names come from
// ipaddr.js, which keeps the IANA special-purpose registries; this module only decides.

import ipaddr from "ipaddr.js";

export type AddressVerdict =
  | { allowed: true }
  /** `range`: ipaddr.js's name for it, e.g. `private`, `loopback`, or `ipv4Mapped:linkLocal` for an embedded IPv4. */
  | { allowed: false; range: string };

const allowed: AddressVerdict = Object.freeze({ allowed: true });

/** IANA's global unicast block: IPv6 outside it is unallocated or special, never a vendor. */
const ipv6GlobalUnicast = ipaddr.parseCIDR("2000::/3");

/**
 * Where IPv6 forms carry an IPv4 address that a gateway or the kernel may connect to instead:
 * the byte offset of the four IPv4 bytes in the 16 of the IPv6 address.
 */
const embeddedIPv4Offset: Readonly<Record<string, number>> = {
  ipv4Mapped: 12, // ::ffff:a.b.c.d, which Node connects to as IPv4
  rfc6145: 12, // ::ffff:0:a.b.c.d, IPv4-translated
  "6to4": 2, // 2002:aabb:ccdd::/48
};
/** NAT64's well-known prefix 64:ff9b::/96 puts the IPv4 address in the last four bytes. */
const nat64WellKnown = ipaddr.parseCIDR("64:ff9b::/96");

/**
 * Decides whether `address` (an IPv4 or IPv6 address as text, no brackets) may be connected to.
 * IPv4 only as a dotted quad: ipaddr.js also reads the old inet_aton shapes (`0x7f.1`), which a
 * resolver or a URL parser never hands over, and an IPv6 zone (`%eth0`) is refused outright.
 */
export function classifyAddress(address: string): AddressVerdict {
  if (ipaddr.IPv4.isValidFourPartDecimal(address)) return classifyIPv4(ipaddr.IPv4.parse(address));
  const ipv6 = address.includes("%") ? undefined : hexadecimalIPv6(address);
  return ipv6 !== undefined && ipaddr.IPv6.isValid(ipv6) ? classifyIPv6(ipaddr.IPv6.parse(ipv6)) : { allowed: false, range: "invalid" };
}

function classifyIPv4(address: ipaddr.IPv4): AddressVerdict {
  const range = address.range();
  return range === "unicast" ? allowed : { allowed: false, range };
}

function classifyIPv6(address: ipaddr.IPv6): AddressVerdict {
  const range = address.range();
  const offset = range === "rfc6052" && address.match(nat64WellKnown) ? 12 : embeddedIPv4Offset[range];
  if (offset !== undefined) {
    const embedded = classifyIPv4(new ipaddr.IPv4(address.toByteArray().slice(offset, offset + 4)));
    return embedded.allowed ? allowed : { allowed: false, range: `${range}:${embedded.range}` };
  }
  if (range !== "unicast") return { allowed: false, range };
  return address.match(ipv6GlobalUnicast) ? allowed : { allowed: false, range: "unallocated" };
}

/**
 * The IPv6 address as the WHATWG URL parser writes it, all in hexadecimal: ipaddr.js reads the
 * deprecated IPv4-compatible `::a.b.c.d` as IPv4-mapped `::ffff:a.b.c.d`, which the kernel does
 * not (it is `::a00:1`), while it reads `::a00:1` as written. One reading for both spellings.
 */
function hexadecimalIPv6(address: string): string | undefined {
  return URL.parse(`http://[${address}]/`)?.hostname.slice(1, -1);
}
