// The connector undici opens every outbound connection through. It resolves the host itself,
// checks every address before a socket exists, then hands exactly those addresses to Node's
// connect through a fixed `lookup`: the socket can only go where the check looked, so a resolver
// that answers a public address to a check and a private one to the connection (DNS rebinding)
// has nothing to exploit. The address the socket really reached is checked once more. A name whose
// addresses are refused, or a socket that reached another address, fails as `unreachable`, in the
// words of any other connection that could not be made (outbound-target.ts says why).
import type { LookupAddress, LookupOptions } from "node:dns";
import type { Socket } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import { buildConnector } from "undici";
import {
  checkAddresses,
  endpointOf,
  outboundTarget,
  resolveTarget,
  type AllowedHosts,
  type OutboundLookup,
  type ResolvedAddress,
} from "./outbound-target.js";
import { unreachableError } from "./outbound.js";

export interface GuardedConnectorOptions {
  allowedHosts: AllowedHosts;
  lookup: OutboundLookup;
  /** Name resolution, TCP connect and TLS handshake each within this. */
  connectTimeoutMs: number;
  /** Trusted CAs instead of Node's store (tests); production adds its own through NODE_EXTRA_CA_CERTS. */
  ca?: string | readonly string[] | undefined;
}

export function guardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  // One TLS context for every connection: Node builds one for each connection made without it
  // (the CA store loaded again each time), about a tenth of a token refresh's CPU.
  const secureContext = createSecureContext(options.ca === undefined ? {} : { ca: options.ca as string | string[] });
  return (connectOptions, callback) => {
    void connectChecked(connectOptions, options, secureContext).then(
      (socket) => callback(null, socket),
      (error: Error) => callback(error, null),
    );
  };
}

async function connectChecked(
  connectOptions: buildConnector.Options,
  options: GuardedConnectorOptions,
  secureContext: SecureContext,
): Promise<Socket> {
  // The origin undici is connecting to, as a URL again, so it passes the same checks as a request's.
  const url = new URL(`${connectOptions.protocol}//${connectOptions.host ?? connectOptions.hostname}`);
  if (connectOptions.port) url.port = connectOptions.port;
  const target = outboundTarget(url, options.allowedHosts);
  const addresses = await resolveTarget(target, options.lookup, options.connectTimeoutMs);
  checkAddresses(target, addresses, options.allowedHosts);
  const connect = buildConnector({
    timeout: options.connectTimeoutMs,
    // Each connection is checked afresh; a cached TLS session would only save a round trip.
    maxCachedSessions: 0,
    lookup: answerOnly(addresses),
    secureContext,
  });
  const socket = await new Promise<Socket>((resolve, reject) => {
    connect(connectOptions, (error, connected) => (error ? reject(error) : resolve(connected)));
  });
  const reached = socket.remoteAddress;
  if (!target.listed && !addresses.some(({ address }) => reached !== undefined && endpointOf(address, 0) === endpointOf(reached, 0))) {
    socket.destroy();
    throw unreachableError(target.host);
  }
  return socket;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for net.connect that answers the checked addresses and nothing else. */
function answerOnly(addresses: readonly ResolvedAddress[]) {
  return (_hostname: string, lookupOptions: LookupOptions, callback: LookupCallback): void => {
    const wanted = addresses.filter(({ family }) => !lookupOptions.family || family === lookupOptions.family);
    const first = wanted[0];
    if (lookupOptions.all)
      callback(
        null,
        wanted.map(({ address, family }) => ({ address, family })),
      );
    else if (first) callback(null, first.address, first.family);
    else callback(Object.assign(new Error("no checked address of that family"), { code: "ENOTFOUND" }), "");
  };
}
