// What the outbox's store-level tests share: an attempt's outcome when the receiver took the event,
// and an instance whose notifications go to `callbackUrl` (its events are queued as deliveries).
import { randomBytes } from "node:crypto";
import type { AttemptOutcome } from "../../src/events/outbox.js";
import type { NewInstance } from "../../src/instances/store.js";

/** The outcome of an attempt the receiver answered 204 at `attemptAt`. */
export const delivered = (attemptAt: number): AttemptOutcome => ({
  attemptAt,
  status: 204,
  error: undefined,
  delivered: true,
  nextAttemptAt: undefined,
});

/** A Taxify instance of `organizationId`'s with notifications on, to `callbackUrl`. */
export const notifyingInstance = (organizationId: number, callbackUrl: string): NewInstance => ({
  organizationId,
  connectorKey: "taxify",
  name: "n",
  tags: [],
  configuration: { "event.notification.enabled": "true", "event.notification.callback.url": callbackUrl },
  sealedSecrets: "v1.sealed",
  secretKeys: [],
  tokenHash: randomBytes(32),
  createdAt: new Date().toISOString(),
});
