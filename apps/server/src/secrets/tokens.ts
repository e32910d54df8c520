// Random credentials (instance tokens, organization and user secrets) and the only form in which
// they are stored: a SHA-256 hash. They carry 256 bits of entropy, so a fast hash is enough; no
// password hashing is needed.
import { hash, timingSafeEqual } from "node:crypto";
import { randomBytes } from "./random-bytes.js";

/** 32 random bytes, base64: the shape of the platform's tokens. */
export function newToken(): string {
  return randomBytes(32).toString("base64");
}

/** 32 random bytes, base64url: safe inside the Authorization header's `User x, Organization y`. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): Buffer {
  return hash("sha256", secret, "buffer"); // one-shot: a third cheaper than createHash per request
}

/** Constant-time comparison of two hashes. */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
