// checkOutboundUrl, the create-time check: a URL that as written could never be sent to is refused
// with address-not-allowed (the route makes it a 4xx), without repeating secrets. A name is not
// resolved at all: one that resolves privately and one that does not resolve are both let
// through, alike, and each send fails them alike (guarded-sender.test.ts). Pure: no resolver is
// asked and no socket may open (the sockets are watched and stopped).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkOutboundUrl } from "../../src/outbound/guarded-sender.js";
import { OutboundError } from "../../src/outbound/outbound.js";
import { loopbackOnlySockets, type LoopbackOnlySockets } from "./loopback-only-sockets.js";

let sockets: LoopbackOnlySockets;
beforeAll(() => {
  sockets = loopbackOnlySockets();
  sockets.refuseAll();
});
afterAll(() => {
  expect(sockets.attempts).toEqual([]);
  sockets.restore();
});

async function refusal(url: string, allowedHosts: string[] = []): Promise<OutboundError> {
  const error = await checkOutboundUrl(new URL(url), allowedHosts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, url).toBeInstanceOf(OutboundError);
  expect((error as OutboundError).reason).toBe("address-not-allowed");
  return error as OutboundError;
}

describe("checkOutboundUrl refuses", () => {
  it.each([
    ["a private address", "https://10.0.0.1/hook"],
    ["the cloud metadata address", "http://169.254.169.254/latest/meta-data/"],
    ["the cloud metadata address over https", "https://169.254.169.254/latest/meta-data/"],
    ["loopback", "https://127.0.0.1:8443/"],
    ["loopback in inet_aton shorthand (the URL parser reads 127.1)", "https://127.1/"],
    ["loopback in hexadecimal", "https://0x7f000001/"],
    ["IPv6 loopback", "https://[::1]/"],
    ["IPv4-mapped private", "https://[::ffff:10.0.0.1]/"],
    ["NAT64 of the metadata address", "https://[64:ff9b::a9fe:a9fe]/"],
    ["the unspecified address", "https://0.0.0.0/"],
  ])("an address literal: %s", async (_name, url) => {
    const error = await refusal(url);
    expect(error.message).toMatch(
      /^the address \S+ is not allowed: (requests go to public addresses only|only https URLs are \(not http\))$/,
    );
  });

  it.each([
    ["http", "http://vendor.example/"],
    ["ftp", "ftp://vendor.example/"],
    ["file", "file:///etc/passwd"],
    ["ws", "ws://vendor.example/"],
  ])("scheme %s", async (scheme, url) => {
    const error = await refusal(url);
    expect(error.message).toContain(`only https URLs are (not ${scheme})`);
  });

  it("a user name or password, without repeating either", async () => {
    for (const url of ["https://admin:hunter2@vendor.example/", "https://admin@vendor.example/", "https://:hunter2@vendor.example/"]) {
      const error = await refusal(url);
      expect(error.message).toBe("the address is not allowed: a URL must not carry a user name or password");
    }
  });

  it("an allowed host on a port that is not listed", async () => {
    await refusal("https://127.0.0.1:9443/", ["127.0.0.1:8443"]);
  });
});

describe("checkOutboundUrl lets through", () => {
  it.each([
    ["a public name", "https://vendor.example/rest/v11"],
    ["a name that may resolve to a private address (the send fails it as unreachable)", "https://intranet.example/hooks/abc?token=s3cret"],
    ["a name that may not resolve (yet)", "https://not-yet.example/"],
    ["a name on a port the allowed hosts list for an address", "https://vendor.test:8443/"],
    ["a public address literal", "https://93.184.215.14/"],
    ["a public IPv6 address literal", "https://[2606:4700:4700::1111]/"],
  ])("%s, without resolving anything", async (_name, url) => {
    await expect(checkOutboundUrl(new URL(url), ["127.0.0.1:8443"])).resolves.toBeUndefined();
  });

  it.each([
    ["an allowed host over https", "https://127.0.0.1:8443/", ["127.0.0.1:8443"]],
    ["an allowed host over http", "http://127.0.0.1:8443/", ["127.0.0.1:8443"]],
    ["an allowed host on http's default port", "http://localhost/", ["localhost:80"]],
    ["an allowed IPv6 host", "http://[::1]:9000/", ["[::1]:9000"]],
    ["an allowed IPv6 host spelled long", "http://[0:0:0:0:0:0:0:1]:9000/", ["[0::1]:9000"]],
    ["an allowed name", "http://vendor.test:8080/", ["vendor.test:8080"]],
  ])("%s", async (_name, url, allowedHosts) => {
    await expect(checkOutboundUrl(new URL(url), allowedHosts)).resolves.toBeUndefined();
  });
});
