// POST /instances/{id}/events/test: one instance.test event to the instance's callback URL, recorded
// in the outbox as every event is (signed, in order with the instance's other events, retried,
// listed) without changing the instance, and answered with its delivery, pending; the dispatcher
// is cued so that it goes out at once. Refused while the instance sends no events (409), when the
// server would not send to its callback URL now (400: a URL allowed by an OUTBOUND_ALLOWED_HOSTS
// since removed), and beyond the test events' limit (429, events/test-events.ts).
import type { Caller } from "../../accounts/store.js";
import { NotFoundError } from "../../errors.js";
import { deliveryBody, type DeliveryBody } from "../../events/deliveries.js";
import { CallbackUrlNotAllowedError, NoSigningSecretError, NotificationsOffError, TestEventTooSoonError } from "../../events/errors.js";
import { testEventLimit } from "../../events/test-events.js";
import { WriteConflictError } from "../errors.js";
import { callbackUrlRefusal, callbackUrlEntry, whyNoEvents, type CheckOutboundUrl } from "../notifications.js";
import { find, maxWriteAttempts, recordingEvent, type InstanceAccess } from "./sealed-instance.js";

export interface SendTestEventDeps extends InstanceAccess {
  checkOutboundUrl: CheckOutboundUrl;
}

export async function sendTestEvent(deps: SendTestEventDeps, caller: Caller, id: number): Promise<DeliveryBody> {
  for (let attempt = 1; attempt <= maxWriteAttempts; attempt++) {
    const record = await find(deps, caller, id);
    const off = whyNoEvents(record.configuration);
    if (off !== undefined) throw new NotificationsOffError(id, off);
    const url = record.configuration[callbackUrlEntry]!;
    const refusal = await callbackUrlRefusal(deps.checkOutboundUrl, url);
    if (refusal !== undefined) throw new CallbackUrlNotAllowedError(url, refusal);
    // At the version checked: a change in between (notifications turned off) is read again.
    const outcome = await deps.store.recordTestEvent(
      caller.organizationId,
      id,
      record.version,
      recordingEvent(deps, "instance.test"),
      testEventLimit,
    );
    if (outcome === "not-found") throw new NotFoundError(`There is no instance ${id}`);
    if (outcome === "version-mismatch") continue;
    if ("wait" in outcome) throw new TestEventTooSoonError(id, outcome.wait, testEventLimit);
    if (outcome.enqueued === undefined) throw new NoSigningSecretError(id);
    deps.onEnqueued(); // committed: the dispatcher's cue
    return deliveryBody(outcome.enqueued);
  }
  throw new WriteConflictError();
}
