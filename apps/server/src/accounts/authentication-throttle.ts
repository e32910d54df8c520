// Failed authentications, counted per client address with express-rate-limit's memory store (its
// windowing and expiry). The rule, in one sentence: credentials are looked up first (the cache of
// recent successes, else one indexed read of their hashes) and valid ones are always let in, while
// each request with unknown credentials counts one failure against its client address and is
// answered 401 while the address has failures left in its minute, 429 with Retry-After after that.
//
// So the throttle bounds failed guesses, not guesses: a guess that is right is let in, which is
// the point of credentials (and with 256-bit secrets there is nothing to guess). A failure is
// counted after its lookup and before its answer, in one step of the store, so requests sent at
// once or pipelined get no more 401s than the limit, and a valid caller who shares the address
// (behind a proxy or NAT) is never locked out by someone else's failures.
//
// The client address is req.ip: the connection's, or with TRUST_PROXY the one the trusted proxies
// report (app.ts). Counts live in the process: with several replicas each keeps its own
// (docs/postgresql-and-replicas.md says so).
import type { Request } from "express";
import { ipKeyGenerator, MemoryStore, type Options } from "express-rate-limit";

const windowMs = 60_000;

/** What a failed authentication is answered: its 401, or 429 once the address has spent its failures. */
export type FailureVerdict = { refused: false } | { refused: true; retryAfterSeconds: number };

export class AuthenticationThrottle {
  private readonly failures = new MemoryStore();

  constructor(private readonly failuresPerMinute: number) {
    this.failures.init({ windowMs } as Options);
  }

  /** The address failures are counted by: req.ip, an IPv6 address by its /56 (one subscriber's share). */
  static addressOf(req: Request): string {
    return ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? "unknown");
  }

  /** Counts one failed authentication from `address`; refused once the address has had its minute's failures. */
  async countFailure(address: string): Promise<FailureVerdict> {
    const { totalHits, resetTime } = await this.failures.increment(address);
    if (totalHits <= this.failuresPerMinute) return { refused: false };
    const retryAfterSeconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
    return { refused: true, retryAfterSeconds };
  }
}
