// The address classifier as a pure function over address strings: the edges of every refused
// range, IPv4 hidden inside IPv6 forms, and public addresses that must stay allowed. Nothing here
// opens a socket.
import { describe, expect, it } from "vitest";
import { classifyAddress } from "../../src/outbound/address-policy.js";

const refused: [string, { given: string; range: string }][] = [
  ["loopback, first", { given: "127.0.0.1", range: "loopback" }],
  ["loopback, any of 127/8", { given: "127.0.0.2", range: "loopback" }],
  ["loopback, last of 127/8", { given: "127.255.255.255", range: "loopback" }],
  ["IPv6 loopback", { given: "::1", range: "loopback" }],
  ["IPv6 loopback written out", { given: "0:0:0:0:0:0:0:1", range: "loopback" }],
  ["unspecified", { given: "0.0.0.0", range: "unspecified" }],
  ["this network 0/8", { given: "0.1.2.3", range: "unspecified" }],
  ["IPv6 unspecified", { given: "::", range: "unspecified" }],
  ["RFC 1918 10/8, first", { given: "10.0.0.0", range: "private" }],
  ["RFC 1918 10/8, last", { given: "10.255.255.255", range: "private" }],
  ["RFC 1918 172.16/12, first", { given: "172.16.0.0", range: "private" }],
  ["RFC 1918 172.16/12, last", { given: "172.31.255.255", range: "private" }],
  ["RFC 1918 192.168/16", { given: "192.168.1.1", range: "private" }],
  ["link-local", { given: "169.254.0.1", range: "linkLocal" }],
  ["cloud metadata", { given: "169.254.169.254", range: "linkLocal" }],
  ["IPv6 link-local", { given: "fe80::1", range: "linkLocal" }],
  ["IPv6 link-local, last of fe80::/10", { given: "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", range: "linkLocal" }],
  ["unique-local fc00::/7, fc", { given: "fc00::1", range: "uniqueLocal" }],
  ["unique-local fc00::/7, fd", { given: "fd12:3456:789a::1", range: "uniqueLocal" }],
  ["AWS's IPv6 metadata address", { given: "fd00:ec2::254", range: "uniqueLocal" }],
  ["carrier-grade NAT, first", { given: "100.64.0.0", range: "carrierGradeNat" }],
  ["carrier-grade NAT, last", { given: "100.127.255.255", range: "carrierGradeNat" }],
  ["multicast, first", { given: "224.0.0.1", range: "multicast" }],
  ["multicast, last", { given: "239.255.255.255", range: "multicast" }],
  ["IPv6 multicast", { given: "ff02::1", range: "multicast" }],
  ["broadcast", { given: "255.255.255.255", range: "broadcast" }],
  ["reserved 240/4", { given: "240.0.0.1", range: "reserved" }],
  ["IETF protocol assignments 192.0.0/24", { given: "192.0.0.8", range: "reserved" }],
  ["documentation TEST-NET-1", { given: "192.0.2.1", range: "reserved" }],
  ["documentation TEST-NET-2", { given: "198.51.100.7", range: "reserved" }],
  ["documentation TEST-NET-3", { given: "203.0.113.9", range: "reserved" }],
  ["benchmarking 198.18/15", { given: "198.19.255.255", range: "reserved" }],
  ["IPv6 documentation 2001:db8::/32", { given: "2001:db8::1", range: "reserved" }],
  ["IPv6 documentation 3fff::/20", { given: "3fff::1", range: "reserved" }],
  ["IPv6 benchmarking", { given: "2001:2::1", range: "benchmarking" }],
  ["IPv6 discard-only", { given: "100::1", range: "discard" }],
  ["IPv6 site-local, deprecated", { given: "fec0::1", range: "deprecatedSiteLocal" }],
  ["Teredo (its IPv4 is obfuscated: refused whole)", { given: "2001:0:4136:e378:8000:63bf:3fff:fdd2", range: "teredo" }],
  ["IPv4-compatible ::a.b.c.d (deprecated)", { given: "::10.0.0.1", range: "unallocated" }],
  ["IPv4-compatible of a public address (not mapped to IPv4 by the kernel)", { given: "::8.8.8.8", range: "unallocated" }],
  ["IPv6 outside 2000::/3", { given: "4000::1", range: "unallocated" }],
  ["IPv4-mapped loopback", { given: "::ffff:127.0.0.1", range: "ipv4Mapped:loopback" }],
  ["IPv4-mapped private", { given: "::ffff:10.0.0.1", range: "ipv4Mapped:private" }],
  ["IPv4-mapped private, hex form", { given: "::ffff:a00:1", range: "ipv4Mapped:private" }],
  ["IPv4-mapped metadata", { given: "::ffff:169.254.169.254", range: "ipv4Mapped:linkLocal" }],
  ["IPv4-mapped unspecified", { given: "::ffff:0.0.0.0", range: "ipv4Mapped:unspecified" }],
  ["IPv4-translated private", { given: "::ffff:0:192.168.0.1", range: "rfc6145:private" }],
  ["NAT64 well-known prefix to loopback", { given: "64:ff9b::7f00:1", range: "rfc6052:loopback" }],
  ["NAT64 well-known prefix to metadata", { given: "64:ff9b::169.254.169.254", range: "rfc6052:linkLocal" }],
  ["NAT64 local-use prefix (network-specific: refused whole)", { given: "64:ff9b:1::a00:1", range: "rfc6052" }],
  ["6to4 of a private address", { given: "2002:c0a8:101::1", range: "6to4:private" }],
  ["6to4 of loopback", { given: "2002:7f00:1::", range: "6to4:loopback" }],
  ["6to4 of metadata", { given: "2002:a9fe:a9fe::1", range: "6to4:linkLocal" }],
  ["a name, not an address", { given: "localhost", range: "invalid" }],
  ["inet_aton shorthand", { given: "127.1", range: "invalid" }],
  ["hexadecimal IPv4", { given: "0x7f000001", range: "invalid" }],
  ["octal-looking IPv4", { given: "0177.0.0.1", range: "invalid" }],
  ["brackets left on", { given: "[::1]", range: "invalid" }],
  ["IPv6 with a zone", { given: "fe80::1%eth0", range: "invalid" }],
  ["empty", { given: "", range: "invalid" }],
];

const allowedAddresses: [string, string][] = [
  ["public IPv4", "93.184.215.14"],
  ["just below 10/8", "9.255.255.255"],
  ["just above 10/8", "11.0.0.0"],
  ["just below 100.64/10", "100.63.255.255"],
  ["just above 100.64/10", "100.128.0.0"],
  ["just below 127/8", "126.255.255.255"],
  ["just above 127/8", "128.0.0.0"],
  ["just below 169.254/16", "169.253.255.255"],
  ["just above 169.254/16", "169.255.0.0"],
  ["just below 172.16/12", "172.15.255.255"],
  ["just above 172.16/12", "172.32.0.0"],
  ["just above 192.168/16", "192.169.0.0"],
  ["just below 224/4", "223.255.255.255"],
  ["public IPv6", "2606:4700:4700::1111"],
  ["public IPv6, first of 2000::/3 outside special ranges", "2400::1"],
  ["IPv4-mapped public", "::ffff:93.184.215.14"],
  ["NAT64 of a public address", "64:ff9b::5db8:d70e"],
  ["6to4 of a public address", "2002:5db8:d70e::1"],
];

describe("classifyAddress", () => {
  it.each(refused)("refuses %s", (_name, { given, range }) => {
    expect(classifyAddress(given)).toEqual({ allowed: false, range });
  });

  it.each(allowedAddresses)("allows %s", (_name, given) => {
    expect(classifyAddress(given)).toEqual({ allowed: true });
  });
});
