// How many bytes of proxied bodies this replica holds in memory at once, across every
// organization. Most bodies stream through, but some are read whole: a body the credentials are
// put in (Taxify's), a body kept to be sent again after a token renewal (SugarCRM's PUT), and an
// answer checked for a key before it goes back (Taxify's). The per-instance and per-organization
// caps bound one tenant's calls; this bounds their bodies all together, so that many tenants each
// within their caps cannot hold the replica's memory. Past it a call gets 503 with Retry-After 1,
// and nothing is sent to the vendor (a request) or passed on (an answer). One organization holds at
// most a quarter of it (429 with Retry-After 1 past that): within its own caps (50 calls of up to
// 10 MiB), one tenant's slow bodies would otherwise hold it all, and every other tenant get 503.
import { ServiceUnavailableError, TooManyRequestsError } from "../errors.js";

/** The part of the budget one organization may hold. */
const organizationShare = 1 / 4;

export class ProxyBuffersFullError extends ServiceUnavailableError {
  constructor(maxBytes: number) {
    super(`This server holds as many proxied bodies as it may (${maxBytes} bytes, PROXY_BUFFERED_MAX_BYTES); retry in 1 s`, 1);
  }
}

export class OrganizationBuffersFullError extends TooManyRequestsError {
  constructor(maxBytes: number) {
    super(
      `This organization's proxied calls hold as many bodies as one organization may on this server (${maxBytes} bytes, a quarter of PROXY_BUFFERED_MAX_BYTES); retry in 1 s`,
      1,
    );
  }
}

export function bufferBudget(maxBytes: number) {
  const organizationMaxBytes = Math.floor(maxBytes * organizationShare);
  let held = 0;
  const heldBy = new Map<number, number>();
  return {
    /** What one call of an organization holds: take bytes as they are read, give them all back once it ends (again: no-op). */
    holder(organizationId: number) {
      let mine = 0;
      const add = (bytes: number) => {
        held += bytes;
        mine += bytes;
        const theirs = (heldBy.get(organizationId) ?? 0) + bytes;
        if (theirs === 0) heldBy.delete(organizationId);
        else heldBy.set(organizationId, theirs);
      };
      return {
        take(bytes: number): void {
          if (held + bytes > maxBytes) throw new ProxyBuffersFullError(maxBytes);
          if ((heldBy.get(organizationId) ?? 0) + bytes > organizationMaxBytes)
            throw new OrganizationBuffersFullError(organizationMaxBytes);
          add(bytes);
        },
        release(): void {
          add(-mine);
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
