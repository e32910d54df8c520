// A safety net under the outbound tests, and their witness. Every client socket undici opens goes
// through node:net's or node:tls's connect; while the net is set, each call is recorded, and one
// that could reach another machine is stopped before it opens: a host that is not a loopback
// address must come with a lookup (the guard's), and that lookup may answer loopback addresses
// only. `refuseAll()` stops every socket, for tests whose point is that none opens. So even a
// broken guard, run to prove a test can fail, sends nothing off this machine.
import type { LookupAddress, LookupOptions } from "node:dns";
import net from "node:net";
import tls from "node:tls";
import { vi } from "vitest";

export interface SocketAttempt {
  module: "net" | "tls";
  host: string | undefined;
  port: number | undefined;
}

export interface LoopbackOnlySockets {
  /** Every connect call made since the net was set (or since `reset()`). */
  attempts: SocketAttempt[];
  /** From now on every connect call throws before a socket exists. */
  refuseAll(): void;
  /** From now on the socket's own lookup answers `address` (loopback), whatever the guard checked: a resolver gone wrong. */
  divertTo(address: string): void;
  reset(): void;
  restore(): void;
}

type ConnectOptions = { host?: string; port?: number | string; lookup?: LookupFunction };
type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type LookupFunction = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

const loopbackAddress = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

export function loopbackOnlySockets(): LoopbackOnlySockets {
  const attempts: SocketAttempt[] = [];
  let refusing = false;
  let diversion: string | undefined;
  const guard = (module: "net" | "tls", original: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const options = (typeof args[0] === "object" && args[0] !== null ? args[0] : { port: args[0], host: args[1] }) as ConnectOptions;
      attempts.push({ module, host: options.host, port: options.port === undefined ? undefined : Number(options.port) });
      if (refusing) throw new Error(`test: no socket may open here (${module}.connect to ${String(options.host)})`);
      if (diversion !== undefined) {
        const address = diversion;
        args[0] = {
          ...options,
          lookup: ((_hostname, lookupOptions, callback) =>
            lookupOptions.all ? callback(null, [{ address, family: 4 }]) : callback(null, address, 4)) satisfies LookupFunction,
        };
      } else if (!loopbackAddress.test(options.host ?? "")) {
        const lookup = options.lookup;
        if (!lookup) throw new Error(`test: a socket to ${String(options.host)} with the system's resolver`);
        args[0] = { ...options, lookup: answersLoopbackOnly(lookup) };
      }
      return original.apply(this, args);
    };
  const originalNetConnect = net.connect as (...args: unknown[]) => unknown;
  const originalTlsConnect = tls.connect as (...args: unknown[]) => unknown;
  const netConnect = vi.spyOn(net, "connect").mockImplementation(guard("net", originalNetConnect) as typeof net.connect);
  const tlsConnect = vi.spyOn(tls, "connect").mockImplementation(guard("tls", originalTlsConnect) as typeof tls.connect);
  return {
    attempts,
    refuseAll: () => void (refusing = true),
    divertTo: (address) => {
      if (!loopbackAddress.test(address)) throw new Error(`test: ${address} is not a loopback address`);
      diversion = address;
    },
    reset: () => {
      attempts.length = 0;
      refusing = false;
      diversion = undefined;
    },
    restore: () => {
      netConnect.mockRestore();
      tlsConnect.mockRestore();
    },
  };
}

function answersLoopbackOnly(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) =>
    lookup(hostname, options, (error, address, family) => {
      const addresses = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const outside = addresses.find((a) => !loopbackAddress.test(a));
      if (!error && outside !== undefined) callback(new Error(`test: a socket to ${outside}, off this machine, stopped`), "");
      else callback(error, address, family);
    });
}
