// Event signing as Standard Webhooks defines it: a secret `whsec_<base64 of the key bytes>` per
// instance, and `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one
// such entry per secret, space-separated, when several sign (across a rotation). A secret is shown
// once (create, token rotation) and sealed at rest, bound to its instance.
import { createHmac } from "node:crypto";
import { randomBytes } from "../secrets/random-bytes.js";

const prefix = "whsec_";

/** 32 random bytes, as `whsec_<base64>` (Standard Webhooks asks for 24 to 64). */
export function newSigningSecret(): string {
  return `${prefix}${randomBytes(32).toString("base64")}`;
}

/** The `webhook-signature` header value for one attempt. */
export function webhookSignature(secret: string, webhookId: string, timestampSeconds: number, body: string): string {
  if (!secret.startsWith(prefix)) throw new Error("not a whsec_ signing secret");
  const key = Buffer.from(secret.slice(prefix.length), "base64");
  const mac = createHmac("sha256", key).update(`${webhookId}.${timestampSeconds}.${body}`).digest("base64");
  return `v1,${mac}`;
}

/** The `webhook-signature` header value signed by each of `secrets`, in their order: `v1,<a> v1,<b>`. */
export function webhookSignatures(secrets: readonly string[], webhookId: string, timestampSeconds: number, body: string): string {
  return secrets.map((secret) => webhookSignature(secret, webhookId, timestampSeconds, body)).join(" ");
}
