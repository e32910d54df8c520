// What the instances service asks of events: a check of the callback URL before a write, the
// intent each write carries into its transaction, and a signing secret for create and rotation.
// The provisioning code uses the same `intent()` for instance.invalid and instance.valid: pass
// `events.intent("instance.invalid", present)` as the `event` argument of `store.update`.
import type { InstanceBody } from "../api-types.js";
import type { InstanceRecord } from "../instances/store.js";
import { OutboundError } from "../outbound/outbound.js";
import { sealingContexts } from "../secrets/contexts.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { CallbackUrlNotAllowedError } from "./errors.js";
import type { EventIntent, EventType } from "./outbox.js";
import { newSigningSecret } from "./signing-secret.js";

export const enabledEntry = "event.notification.enabled";
export const callbackUrlEntry = "event.notification.callback.url";

/** Throws OutboundError "address-not-allowed" for a URL the server would never send to. */
export type CheckOutboundUrl = (url: URL) => Promise<void>;

export interface LifecycleEventsDeps {
  secretBox: SecretBox;
  checkOutboundUrl: CheckOutboundUrl;
  /** Called after a write that may have enqueued an event has committed: the dispatcher's cue. */
  onCommitted?: () => void;
}

export type LifecycleEvents = ReturnType<typeof lifecycleEvents>;

/** Where an instance's notifications go: its callback URL when they are on, else undefined. */
export function notificationTarget(instance: { configuration?: Readonly<Record<string, string | null>> }): string | undefined {
  const configuration = instance.configuration ?? {};
  const url = configuration[callbackUrlEntry];
  return configuration[enabledEntry] === "true" && typeof url === "string" && url !== "" ? url : undefined;
}

export function lifecycleEvents({ secretBox, checkOutboundUrl, onCommitted = () => undefined }: LifecycleEventsDeps) {
  return {
    /** Refuses (400) a callback URL in `configuration` that events could never be sent to. */
    async checkCallbackUrl(configuration: Record<string, string | null> | undefined): Promise<void> {
      const url = configuration?.[callbackUrlEntry];
      if (typeof url !== "string" || url === "") return;
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new CallbackUrlNotAllowedError(url, "it is not an absolute URL");
      }
      try {
        await checkOutboundUrl(parsed);
      } catch (error) {
        if (error instanceof OutboundError) throw new CallbackUrlNotAllowedError(url, error.message);
        throw error;
      }
    },

    newSigningSecret,

    /**
     * The event a write records in its transaction. `present` shows the record as the API does
     * (no token); `signingSecret`, on create and rotation, becomes the instance's new secret.
     */
    intent(type: EventType, present: (record: InstanceRecord) => InstanceBody, signingSecret?: string): EventIntent {
      const intent: EventIntent = {
        type,
        describe: (record) => {
          // The target from the record's clear entries first: the instance is built only to be sent.
          const callbackUrl = notificationTarget(record);
          return callbackUrl === undefined ? undefined : { data: present(record), callbackUrl };
        },
        ...(signingSecret === undefined
          ? {}
          : {
              sealNewSecret: (record: InstanceRecord) =>
                secretBox.seal(signingSecret, sealingContexts.eventSigningSecret(record.organizationId, record.id)),
            }),
      };
      return intent;
    },

    /**
     * After a write has committed: the dispatcher's cue, when the write enqueued an event. Writes
     * of instances without notifications (most, under load) cost the dispatcher nothing.
     */
    committed: (intent: EventIntent | undefined) => {
      if (intent?.enqueued) onCommitted();
    },
  };
}
