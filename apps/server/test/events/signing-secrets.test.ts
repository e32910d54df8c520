// Which sealed secrets sign an attempt: the instance's current one first, then those a rotation
// retired in the 24 hours before the attempt, newest first, at most ten of them; and a header with
// one `v1,` entry per secret that each secret alone verifies.
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { retiredSecretsKept, retiredSecretsSignFor, secretsSigning, storedRetired } from "../../src/events/outbox.js";
import { newSigningSecret, webhookSignatures } from "../../src/events/signing-secret.js";

const at = 100 * retiredSecretsSignFor;
const delivery = (retiredAt: number[]) => ({
  sealedSecret: "current",
  retiredSecrets: storedRetired(retiredAt.map((when, i) => ({ sealed: `retired-${i}`, retiredAt: when }))),
});

describe("the secrets signing an attempt", () => {
  it.each([
    ["no rotation", [], ["current"]],
    ["a rotation a minute ago", [at - 60_000], ["current", "retired-0"]],
    ["a rotation just under 24 h ago", [at - retiredSecretsSignFor + 1], ["current", "retired-0"]],
    ["a rotation 24 h ago", [at - retiredSecretsSignFor], ["current"]],
    ["two rotations, the older past 24 h", [at - 1_000, at - retiredSecretsSignFor - 1], ["current", "retired-0"]],
  ])("after %s", (_name, retiredAt, sealed) => {
    expect(secretsSigning(delivery(retiredAt), at)).toEqual(sealed);
  });

  it(`are at most the ${retiredSecretsKept} newest retired ones beside the current`, () => {
    const many = Array.from({ length: 30 }, (_, i) => at - 1_000 * (i + 1));
    const signing = secretsSigning(delivery(many), at);
    expect(signing).toHaveLength(1 + retiredSecretsKept);
    expect(signing.slice(0, 3)).toEqual(["current", "retired-0", "retired-1"]);
  });

  it("make one v1 entry each, in their order, that each secret alone verifies", () => {
    const secrets = [newSigningSecret(), newSigningSecret()];
    const body = '{"type":"instance.updated"}';
    const timestamp = Math.floor(Date.now() / 1000);
    const header = webhookSignatures(secrets, "msg_1", timestamp, body);
    const entries = header.split(" ");
    expect(entries).toHaveLength(2);
    for (const [i, secret] of secrets.entries()) {
      const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(timestamp) };
      expect(new Webhook(secret).verify(body, { ...headers, "webhook-signature": entries[i]! })).toEqual({ type: "instance.updated" });
      expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-signature": entries[1 - i]! })).toThrow(/signature/);
    }
  });
});
