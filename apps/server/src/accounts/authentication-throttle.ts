// Failed authentication, throttled per client address with express-rate-limit's memory store (its
// windowing and expiry). A lookup reserves one failure before it runs and gives it back when the
// secrets turn out right: every guess in flight counts at once, so neither pipelining nor
// concurrency gets more guesses checked than the limit allows. Counts live in the process: with
// several replicas each keeps its own (the README says so).
import type { Request } from "express";
import { ipKeyGenerator, MemoryStore, type Options } from "express-rate-limit";

const windowMs = 60_000;

export type Admission = { admitted: true } | { admitted: false; retryAfterSeconds: number };

export class AuthenticationThrottle {
  private readonly failures = new MemoryStore();

  constructor(private readonly failuresPerMinute: number) {
    this.failures.init({ windowMs } as Options);
  }

  static addressOf(req: Request): string {
    return ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? "unknown");
  }

  /** Reserves a failure for a lookup about to run, or refuses: the address spent its minute's failures. */
  async reserve(address: string): Promise<Admission> {
    const { totalHits, resetTime } = await this.failures.increment(address);
    if (totalHits <= this.failuresPerMinute) return { admitted: true };
    await this.failures.decrement(address); // a refused request is no guess
    const retryAfterSeconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));
    return { admitted: false, retryAfterSeconds };
  }

  /** Gives a reservation back: the secrets were right, or the lookup could not be done (not the caller's failure). */
  async release(address: string): Promise<void> {
    await this.failures.decrement(address);
  }
}
