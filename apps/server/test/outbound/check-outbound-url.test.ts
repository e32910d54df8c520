// checkOutboundUrl, the create-time check: a URL the server could never send to is refused with
// address-not-allowed (the route makes it a 4xx), without repeating secrets. Pure: names resolve
// through an injected resolver, and no socket may open (the sockets are watched and stopped).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { checkOutboundUrl, type OutboundLookup } from "../../src/outbound/guarded-sender.js";
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

function resolvingTo(...addresses: string[]) {
  return vi.fn<OutboundLookup>(() => Promise.resolve(addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))));
}
const noResolver = vi.fn<OutboundLookup>(() => Promise.reject(new Error("the resolver must not be asked")));

async function refusal(url: string, allowedHosts: string[] = [], lookup: OutboundLookup = noResolver): Promise<OutboundError> {
  const error = await checkOutboundUrl(new URL(url), allowedHosts, lookup).then(
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
    expect(error.message).toMatch(/is not allowed/);
  });

  it.each([
    ["http", "http://vendor.example/"],
    ["ftp", "ftp://vendor.example/"],
    ["file", "file:///etc/passwd"],
    ["ws", "ws://vendor.example/"],
  ])("scheme %s, before resolving anything", async (scheme, url) => {
    const error = await refusal(url);
    expect(error.message).toContain(`only https URLs are (not ${scheme})`);
    expect(noResolver).not.toHaveBeenCalled();
  });

  it("a user name or password, without repeating either", async () => {
    for (const url of ["https://admin:hunter2@vendor.example/", "https://admin@vendor.example/", "https://:hunter2@vendor.example/"]) {
      const error = await refusal(url);
      expect(error.message).toBe("the address is not allowed: a URL must not carry a user name or password");
    }
    expect(noResolver).not.toHaveBeenCalled();
  });

  it("a name that resolves to a private address, naming neither the address nor the path and query", async () => {
    const lookup = resolvingTo("192.168.1.20");
    const error = await refusal("https://intranet.example/hooks/abc?token=s3cret", [], lookup);
    expect(lookup).toHaveBeenCalledWith("intranet.example");
    expect(error.message).toBe("the address of intranet.example:443 is not allowed: requests go to public addresses only");
  });

  it("a name with a public address beside a refused one", async () => {
    await refusal("https://mixed.example/", [], resolvingTo("93.184.215.14", "10.1.2.3"));
  });

  it("an allowed host on a port that is not listed", async () => {
    await refusal("https://127.0.0.1:9443/", ["127.0.0.1:8443"]);
  });

  it("a name that resolves to an allowed address on another port", async () => {
    await refusal("https://vendor.test:9443/", ["127.0.0.1:8443"], resolvingTo("127.0.0.1"));
  });
});

describe("checkOutboundUrl lets through", () => {
  it("an https URL whose name resolves to public addresses only", async () => {
    const lookup = resolvingTo("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c");
    await expect(checkOutboundUrl(new URL("https://vendor.example/rest/v11"), [], lookup)).resolves.toBeUndefined();
    expect(lookup).toHaveBeenCalledWith("vendor.example");
  });

  it("a public address literal", async () => {
    await expect(checkOutboundUrl(new URL("https://93.184.215.14/"), [], noResolver)).resolves.toBeUndefined();
  });

  it("a name that does not resolve now: every send checks again", async () => {
    const lookup = vi.fn<OutboundLookup>(() => Promise.reject(Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" })));
    await expect(checkOutboundUrl(new URL("https://not-yet.example/"), [], lookup)).resolves.toBeUndefined();
  });

  it.each([
    ["an allowed host over https", "https://127.0.0.1:8443/", ["127.0.0.1:8443"]],
    ["an allowed host over http", "http://127.0.0.1:8443/", ["127.0.0.1:8443"]],
    ["an allowed host on http's default port", "http://localhost/", ["localhost:80"]],
    ["an allowed IPv6 host", "http://[::1]:9000/", ["[::1]:9000"]],
    ["an allowed IPv6 host spelled long", "http://[0:0:0:0:0:0:0:1]:9000/", ["[0::1]:9000"]],
    ["an allowed name", "http://vendor.test:8080/", ["vendor.test:8080"]],
  ])("%s, without resolving it", async (_name, url, allowedHosts) => {
    await expect(checkOutboundUrl(new URL(url), allowedHosts, noResolver)).resolves.toBeUndefined();
    expect(noResolver).not.toHaveBeenCalled();
  });

  it("a name that resolves to an allowed address:port, over https", async () => {
    await expect(
      checkOutboundUrl(new URL("https://vendor.test:8443/"), ["127.0.0.1:8443"], resolvingTo("127.0.0.1")),
    ).resolves.toBeUndefined();
  });
});
