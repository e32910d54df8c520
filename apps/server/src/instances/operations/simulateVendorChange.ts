// POST /instances/{id}/events/simulated-change: with the vendors simulated (PROVISIONING=sandbox),
// which poll nothing, the vendor.record.created or vendor.record.updated event of a change the
// caller makes up, recorded in the outbox as a poll's would be (signed, in order with the
// instance's other events, retried, listed), marked `simulated`, and answered with its delivery,
// pending. So a receiver of vendor events can be tried end to end offline. Refused (409) when the
// vendor is real or its connector sends no vendor events, as the test event is when the instance
// sends no events (409) or may not be sent to (400); its record bounded as a poll's is (400), and
// limited as test events are (429, events/test-events.ts), per event type.
import type { Caller } from "../../accounts/store.js";
import type { SimulatedVendorChange } from "../../api-types.js";
import { InvalidRequestError, NotFoundError } from "../../errors.js";
import { deliveryBody, type DeliveryBody } from "../../events/deliveries.js";
import {
  CallbackUrlNotAllowedError,
  NoSigningSecretError,
  NotificationsOffError,
  TestEventTooSoonError,
  VendorNotSimulatedError,
} from "../../events/errors.js";
import type { EventDraft, VendorRecordChange } from "../../events/outbox.js";
import { testEventLimit } from "../../events/test-events.js";
import { WriteConflictError } from "../errors.js";
import type { InstanceProvisioning } from "../instance-provisioning.js";
import { callbackUrlRefusal, callbackUrlEntry, whyNoEvents, type CheckOutboundUrl } from "../notifications.js";
import { maxRecordDepth, nestedDeeperThan } from "../../polling/poll-instance.js";
import { find, maxWriteAttempts, type InstanceAccess } from "./sealed-instance.js";

export interface SimulateVendorChangeDeps extends InstanceAccess {
  checkOutboundUrl: CheckOutboundUrl;
  provisioning: InstanceProvisioning;
  /** A record larger than this, as JSON, is refused (the poller's own cap). */
  vendorRecordMaxBytes: number;
}

export async function simulateVendorChange(
  deps: SimulateVendorChangeDeps,
  caller: Caller,
  id: number,
  change: SimulatedVendorChange,
): Promise<DeliveryBody> {
  // A record a poll would send without its fields is refused, as one too large is (and is not stringified: too deep for that).
  if (nestedDeeperThan(change.record, maxRecordDepth)) {
    throw new InvalidRequestError(`The record nests objects or arrays deeper than ${maxRecordDepth} levels`, [
      { path: "/body/record", message: `must nest at most ${maxRecordDepth} levels` },
    ]);
  }
  const recordBytes = Buffer.byteLength(JSON.stringify(change.record));
  if (recordBytes > deps.vendorRecordMaxBytes) {
    throw new InvalidRequestError(`The record is ${recordBytes} bytes as JSON: at most ${deps.vendorRecordMaxBytes} are sent`, [
      { path: "/body/record", message: `must be at most ${deps.vendorRecordMaxBytes} bytes as JSON` },
    ]);
  }
  for (let attempt = 1; attempt <= maxWriteAttempts; attempt++) {
    const record = await find(deps, caller, id);
    if (deps.provisioning.mode !== "sandbox")
      throw new VendorNotSimulatedError(id, `the server runs with PROVISIONING=${deps.provisioning.mode}`);
    const { events } = deps.registry.require(record.connectorKey);
    if (events.type === "none") throw new VendorNotSimulatedError(id, `${record.connectorKey} sends no vendor events: ${events.reason}`);
    const off = whyNoEvents(record.configuration);
    if (off !== undefined) throw new NotificationsOffError(id, off, "then simulate the change again");
    const url = record.configuration[callbackUrlEntry]!;
    const refusal = await callbackUrlRefusal(deps.checkOutboundUrl, url);
    if (refusal !== undefined) throw new CallbackUrlNotAllowedError(url, refusal);
    const data: VendorRecordChange = {
      instanceId: id,
      resource: change.resource,
      recordId: change.recordId,
      changedAt: new Date(change.changedAt ?? Date.now()).toISOString(),
      record: change.record,
      simulated: true,
    };
    const draft: EventDraft = { type: change.type, notification: { data, callbackUrl: url } };
    // At the version checked: a change in between (notifications turned off) is read again.
    const outcome = await deps.store.recordTestEvent(caller.organizationId, id, record.version, () => ({ event: draft }), testEventLimit);
    if (outcome === "not-found") throw new NotFoundError(`There is no instance ${id}`);
    if (outcome === "version-mismatch") continue;
    if ("wait" in outcome) throw new TestEventTooSoonError(id, outcome.wait, testEventLimit, change.type);
    if (outcome.enqueued === undefined) throw new NoSigningSecretError(id, "then simulate the change again");
    deps.onEnqueued(); // committed: the dispatcher's cue
    return deliveryBody(outcome.enqueued);
  }
  throw new WriteConflictError();
}
