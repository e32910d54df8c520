// POST /instances/{id}/token: a new instance token and a new event signing secret, each shown
// once; the old token stops working at once.
import type { Caller } from "../../accounts/store.js";
import { newSigningSecret } from "../../events/signing-secret.js";
import { hashSecret, newToken } from "../../secrets/tokens.js";
import { present, retryingWrite, type InstanceAccess, type InstanceResult } from "./sealed-instance.js";

export type RotateInstanceTokenDeps = InstanceAccess;

export async function rotateInstanceToken(deps: RotateInstanceTokenDeps, caller: Caller, id: number): Promise<InstanceResult> {
  const token = newToken();
  const eventSigningSecret = newSigningSecret();
  const written = await retryingWrite(deps, {
    caller,
    id,
    ifMatch: undefined,
    change: () => ({ tokenHash: hashSecret(token) }),
    event: "instance.token_rotated",
    signingSecret: eventSigningSecret,
  });
  const result = present(deps, written.record, token);
  return { ...result, instance: { ...result.instance, eventSigningSecret } };
}
