// Random bytes for nonces, tokens and secrets, drawn from a pool refilled 4 KiB at a time.
// crypto.randomBytes costs one call into OpenSSL (about 4 µs here) whatever the size, and a create
// asks for five small pieces (two nonces, a token, a signing secret, an event id); Node's own
// randomUUID pools its random bytes the same way. Every byte is handed out once, copied into a
// buffer of its own, and wiped from the pool.
import { randomFillSync } from "node:crypto";

const pool = Buffer.alloc(4096);
let next = pool.length; // the pool starts used up: filled on first use

export function randomBytes(size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`cannot make ${size} random bytes`);
  if (size > pool.length / 8) return randomFillSync(Buffer.alloc(size));
  if (next + size > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const bytes = Buffer.from(pool.subarray(next, next + size)); // a copy, not a view of the pool
  pool.fill(0, next, next + size);
  next += size;
  return bytes;
}
