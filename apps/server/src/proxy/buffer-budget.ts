// How many bytes of proxied bodies this replica holds in memory at once, across every
// organization. Most bodies stream through, but some are read whole: a body the credentials are
// put in (Taxify's), a body kept to be sent again after a token renewal (SugarCRM's PUT), and an
// answer checked for a key before it goes back (Taxify's). The per-instance and per-organization
// caps bound one tenant; this bounds them all together, so that many tenants each within their
// caps cannot hold the replica's memory. Past it a call gets 503 with Retry-After 1, and nothing
// is sent to the vendor (a request) or passed on (an answer).
import { ServiceUnavailableError } from "../errors.js";

export class ProxyBuffersFullError extends ServiceUnavailableError {
  constructor(maxBytes: number) {
    super(`This server holds as many proxied bodies as it may (${maxBytes} bytes, PROXY_BUFFERED_MAX_BYTES); retry in 1 s`, 1);
  }
}

export function bufferBudget(maxBytes: number) {
  let held = 0;
  return {
    /** What one call holds: take bytes as they are read, give them all back once it ends (again: no-op). */
    holder() {
      let mine = 0;
      return {
        take(bytes: number): void {
          if (held + bytes > maxBytes) throw new ProxyBuffersFullError(maxBytes);
          held += bytes;
          mine += bytes;
        },
        release(): void {
          held -= mine;
          mine = 0;
        },
      };
    },
    /** Bytes held now, by every call. */
    get held(): number {
      return held;
    },
  };
}

export type BufferBudget = ReturnType<typeof bufferBudget>;
export type BufferHolder = ReturnType<BufferBudget["holder"]>;
