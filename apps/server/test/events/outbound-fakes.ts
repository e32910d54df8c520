// What the tests give the server instead of the outbound guard: a check of callback URLs that
// refuses 127.0.0.2 (and, where a receiver is named, everything but that receiver), and a sender
// that connects to 127.0.0.1 only. No test sends anything off this machine, nor to a refused address.
import type { StartOptions } from "../../src/server.js";
import { OutboundError } from "../../src/outbound/outbound.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";

type Outbound = NonNullable<StartOptions["outbound"]>;

/** For tests that are not about events: any URL passes the check, and nothing is ever sent. */
export function sendingNothingAway(): Outbound {
  return {
    checkOutboundUrl: (url) => refuseReservedForRefusals(url),
    send: () => Promise.reject(new OutboundError("unreachable", "the tests send nothing off this machine")),
  };
}

function refuseReservedForRefusals(url: URL): Promise<void> {
  if (url.hostname === "127.0.0.2") return Promise.reject(new OutboundError("address-not-allowed", "127.0.0.2 is a loopback address"));
  return Promise.resolve();
}

/**
 * For tests of events: only `127.0.0.1:<receiverPort>` (and the `otherPorts` of 127.0.0.1 a test
 * names, such as a closed one) passes the check, and only 127.0.0.1 is ever connected to.
 */
export function toReceiver(receiverPort: number, ...otherPorts: number[]): Outbound {
  const allowed = [receiverPort, ...otherPorts].map((port) => `127.0.0.1:${port}`);
  const sender = guardedSender({ allowedHosts: allowed });
  return {
    checkOutboundUrl: async (url) => {
      await refuseReservedForRefusals(url);
      if (!allowed.includes(url.host)) throw new OutboundError("address-not-allowed", `${url.host} is not the test's receiver`);
    },
    send: (request) => {
      if (request.url.hostname !== "127.0.0.1") throw new Error(`a test tried to send to ${request.url.host}`);
      return sender(request);
    },
  };
}
