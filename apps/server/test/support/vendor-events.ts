// The vendor events (vendor.record.*) a receiver got on one path, each checked against the
// instance's signing secret: one that does not verify fails the test.
import { Webhook } from "standardwebhooks";
import type { EventReceiver } from "../../test-support/event-receiver.js";

export interface VendorEvent {
  type: string;
  timestamp: string;
  data: {
    instanceId: number;
    resource: string;
    recordId: string;
    changedAt: string;
    record: Record<string, unknown> | null;
    recordTooLarge?: boolean;
  };
}

export function vendorEvents(receiver: EventReceiver, path: string, secret: string): VendorEvent[] {
  return receiver.received
    .filter((received) => received.path === path && received.type?.startsWith("vendor."))
    .map((received) => new Webhook(secret).verify(received.body, received.headers) as VendorEvent);
}
