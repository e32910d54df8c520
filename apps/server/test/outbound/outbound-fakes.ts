// What the tests give the server instead of the outbound guard: a check of callback URLs that
// refuses 127.0.0.2 (and, where a receiver is named, everything but that receiver), a sender that
// connects to 127.0.0.1 only, and one that takes every vendor URL to the fake vendor on 127.0.0.1.
// No test sends anything off this machine, nor to a refused address. The doubles they reach (the
// fake vendor, the event receiver) are in test-support/.
import type { StartOptions } from "../../src/server.js";
import { OutboundError, type OutboundSend } from "../../src/outbound/outbound.js";
import { guardedSender } from "../../src/outbound/guarded-sender.js";

type Outbound = NonNullable<StartOptions["outbound"]>;

/** For tests that are not about events: any URL passes the check, and nothing is ever sent. */
export function sendingNothingAway(): Outbound {
  return {
    stream: nothingStreamed,
    checkOutboundUrl: (url) => refuseReservedForRefusals(url),
    send: () => Promise.reject(new OutboundError("unreachable", "the tests send nothing off this machine")),
  };
}

/** The proxy's stream for tests that do not proxy to a fake vendor: nothing is ever connected to. */
const nothingStreamed = {
  send: () => Promise.reject(new OutboundError("unreachable", "the tests send nothing off this machine")),
  close: () => Promise.resolve(),
};

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
    stream: nothingStreamed,
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

// Names a guard refuses: loopback, private and link-local, by name or literal address.
const refusedHost = /^(localhost|127\.|10\.|192\.168\.|169\.254\.|\[)/;

/**
 * For provisioning tests: sends every request to the fake vendor on 127.0.0.1:`port` (started
 * with `tls: false`), whatever host its URL names, over plain HTTP, naming the original host in
 * `x-original-host` (the vendor records it as the request's `host`). The server builds the
 * vendors' real URLs (https://acme.freshservice.com/api/v2/agents/me); this sender makes sure no
 * test can reach another machine even by mistake. It refuses hosts a guard would refuse (loopback
 * or private names in the URL) without connecting.
 */
export function loopbackSender(port: () => number): OutboundSend {
  return async (request) => {
    if (refusedHost.test(request.url.host)) {
      throw new OutboundError("address-not-allowed", `${request.url.hostname} resolves to a loopback or private address`);
    }
    const target = new URL(`${request.url.pathname}${request.url.search}`, `http://127.0.0.1:${port()}`);
    if (target.hostname !== "127.0.0.1") throw new Error("the test sender only talks to 127.0.0.1");
    try {
      const response = await fetch(target, {
        method: request.method,
        headers: { ...request.headers, "x-original-host": request.url.host },
        ...(request.body === undefined ? {} : { body: request.body }),
        signal: AbortSignal.timeout(request.timeoutMs ?? 10_000),
        redirect: "manual",
      });
      return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text(), truncated: false };
    } catch (error) {
      if ((error as Error).name === "TimeoutError") throw new OutboundError("timeout", `${request.url.host} did not answer in time`);
      throw new OutboundError("unreachable", `${request.url.host} cannot be reached`);
    }
  };
}
