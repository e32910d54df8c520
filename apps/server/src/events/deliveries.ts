// An instance's recent deliveries, as the application sees them: which event, its webhook-id, how
// many attempts, what the receiver last answered, and when the next attempt is due. A full listing
// with none dropped ends with the instance's newest dropped delivery, if it has one: the pending
// cap drops the oldest, which the newest 100 never show, and the listing is where an instance
// says that some of its events were not sent, and why.
import type { Caller } from "../accounts/store.js";
import { NotFoundError } from "../errors.js";
import type { Delivery, EventStore } from "./outbox.js";

/** The listing holds this many, newest first. */
export const listedDeliveries = 100;

export interface DeliveryBody {
  webhookId: string;
  eventType: string;
  status: string;
  attempts: number;
  createdDate: string;
  lastAttemptDate?: string;
  lastStatus?: number;
  lastError?: string;
  nextAttemptDate?: string;
}

function date(ms: number): string {
  return new Date(ms).toISOString();
}

export function deliveryBody(delivery: Delivery): DeliveryBody {
  return {
    webhookId: delivery.webhookId,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    createdDate: date(delivery.createdAt),
    ...(delivery.lastAttemptAt === null ? {} : { lastAttemptDate: date(delivery.lastAttemptAt) }),
    ...(delivery.lastStatus === null ? {} : { lastStatus: delivery.lastStatus }),
    ...(delivery.lastError === null ? {} : { lastError: delivery.lastError }),
    ...(delivery.nextAttemptAt === null ? {} : { nextAttemptDate: date(delivery.nextAttemptAt) }),
  };
}

export type DeliveriesService = ReturnType<typeof deliveriesService>;

export interface DeliveriesDeps {
  /** Whether the organization has this instance (the listing knows no more of instances). */
  instanceExists: (organizationId: number, id: number) => Promise<boolean>;
  events: EventStore;
}

export function deliveriesService({ instanceExists, events }: DeliveriesDeps) {
  return {
    async list(caller: Caller, instanceId: number): Promise<DeliveryBody[]> {
      if (!(await instanceExists(caller.organizationId, instanceId))) throw new NotFoundError(`There is no instance ${instanceId}`);
      const deliveries = await events.listForInstance(caller.organizationId, instanceId, listedDeliveries);
      const oldest = deliveries.at(-1);
      if (deliveries.length === listedDeliveries && oldest && !deliveries.some((delivery) => delivery.status === "dropped")) {
        const dropped = await events.newestDropped(caller.organizationId, instanceId, oldest.id);
        if (dropped) deliveries[listedDeliveries - 1] = dropped;
      }
      return deliveries.map(deliveryBody);
    },
  };
}
