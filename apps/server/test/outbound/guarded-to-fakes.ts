// The outbound of a server whose vendors are fake ones (test-support/fake-vendor.ts) on 127.0.0.1,
// reached through the real outbound guard by the names a tenant would give them (`sugar.test`,
// `acme.freshservice.com`): an injected resolver answers 127.0.0.1 for those names and no other,
// and the guard lets through the fakes' ports alone, over TLS with their CA. Events go to the
// test's receiver (toReceiver), or nowhere. Nothing leaves this machine.
import type { StartOptions } from "../../src/server.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";
import { guardedStream } from "../../src/outbound/guarded-stream.js";
import type { EventReceiver } from "../../test-support/event-receiver.js";
import type { FakeVendor } from "../../test-support/fake-vendor.js";
import { sendingNothingAway, toReceiver } from "./outbound-fakes.js";

type Outbound = NonNullable<StartOptions["outbound"]>;

export interface GuardedToFakesOptions {
  /** The fake vendors the server may reach. */
  vendors: readonly FakeVendor[];
  /** The names they are reached by, each resolved to 127.0.0.1. */
  names: readonly string[];
  /** Where events go; without one, nowhere (a callback URL is only checked). */
  receiver?: EventReceiver;
  /**
   * The vendor a URL without a port reaches: the server names a Freshservice by
   * `https://<subdomain>.freshservice.com`, so its port is the fake's.
   */
  portless?: FakeVendor;
  /** The vendor's time for its status, headers and each part of its body, as a stream. Default 2 s. */
  answerTimeoutMs?: number;
  /** Connections kept to one fake at most, as a stream. Default 4. */
  connectionsPerOrigin?: number;
}

export function guardedToFakes(options: GuardedToFakesOptions): Outbound {
  const { vendors, names, receiver, portless } = options;
  const lookup = (hostname: string) => Promise.resolve(names.includes(hostname) ? [{ address: "127.0.0.1", family: 4 }] : []);
  const guard = { allowedHosts: vendors.map((vendor) => vendor.host), ca: vendors.map((vendor) => vendor.caPem), lookup };
  const toTheVendors = guardedSender(guard);
  const stream = guardedStream({
    ...guard,
    answerTimeoutMs: options.answerTimeoutMs ?? 2_000,
    connectionsPerOrigin: options.connectionsPerOrigin ?? 4,
  });
  const toPort = <R extends { url: URL }>(request: R): R => {
    if (!portless || request.url.port !== "" || !names.includes(request.url.hostname)) return request;
    const url = new URL(request.url);
    url.port = String(portless.port);
    return { ...request, url };
  };
  const events = receiver ? toReceiver(receiver.port) : sendingNothingAway();
  return {
    checkOutboundUrl: events.checkOutboundUrl,
    send: (request) => (receiver && request.url.port === String(receiver.port) ? events.send(request) : toTheVendors(toPort(request))),
    stream: { send: (request) => stream.send(toPort(request)), close: () => stream.close() },
  };
}
