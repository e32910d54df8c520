// A stand-in for outbound/guarded-sender.ts until that lands on this branch: the same two
// functions, so the wiring in server.ts does not change when it does. It checks what can be told
// from the URL alone (https, or a host in OUTBOUND_ALLOWED_HOSTS; no literal private, loopback or
// link-local address; no "localhost"); it does not resolve names, which the guarded sender does.
// When guarded-sender.ts is merged, server.ts imports from it and this file is deleted.
import { BlockList, isIP } from "node:net";
import { OutboundError, type OutboundRequest, type OutboundResponse, type OutboundSend } from "./outbound.js";

const refused = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
] as const)
  refused.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 127],
  ["fc00::", 7],
  ["fe80::", 10],
  ["::ffff:0:0", 96],
] as const)
  refused.addSubnet(network, prefix, "ipv6");

const defaultTimeoutMs = 10_000;
const bodyCapBytes = 64 * 1024;

export function checkOutboundUrl(url: URL, allowedHosts: readonly string[]): Promise<void> {
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  if (allowedHosts.includes(`${url.hostname.toLowerCase()}:${port}`) && /^https?:$/.test(url.protocol)) return Promise.resolve();
  if (url.protocol !== "https:") return Promise.reject(new OutboundError("address-not-allowed", "only https URLs are allowed"));
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const family = isIP(host);
  if (host === "localhost" || host.endsWith(".localhost") || (family && refused.check(host, family === 4 ? "ipv4" : "ipv6"))) {
    return Promise.reject(new OutboundError("address-not-allowed", `${host} is a private, loopback or link-local address`));
  }
  return Promise.resolve();
}

export function standInSender({ allowedHosts }: { allowedHosts: readonly string[] }): OutboundSend {
  return async (request: OutboundRequest): Promise<OutboundResponse> => {
    await checkOutboundUrl(request.url, allowedHosts);
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: "manual",
        signal: AbortSignal.timeout(request.timeoutMs ?? defaultTimeoutMs),
      });
    } catch (error) {
      const name = (error as Error).name;
      if (name === "TimeoutError" || name === "AbortError") throw new OutboundError("timeout", "no answer in time");
      throw new OutboundError(
        "unreachable",
        `could not connect: ${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}`,
      );
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    // Read at most the cap, then let the rest go.
    const chunks: Uint8Array[] = [];
    let size = 0;
    let truncated = false;
    const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
    try {
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.length;
        if (size > bodyCapBytes) {
          truncated = true;
          await reader.cancel();
          break;
        }
      }
    } catch {
      throw new OutboundError("timeout", "the answer did not arrive in time");
    }
    const body = Buffer.concat(chunks).subarray(0, bodyCapBytes).toString("utf8");
    return { status: response.status, headers, body, truncated };
  };
}
