// How many proxied calls are under way, per instance and per organization, on this replica: a
// caller past either cap gets 429 at once instead of queueing (a tenant whose vendor hangs holds
// its own slots and nobody else's). Per replica, as the request rate limits are: N replicas admit
// N times the cap.
import { ProxyBusyError } from "./errors.js";

export interface InFlightLimits {
  perInstance: number;
  perOrganization: number;
}

export function inFlightCalls(limits: InFlightLimits) {
  const byInstance = new Map<string, number>();
  const byOrganization = new Map<number, number>();
  const bump = <K>(map: Map<K, number>, key: K, by: number) => {
    const next = (map.get(key) ?? 0) + by;
    if (next === 0) map.delete(key);
    else map.set(key, next);
  };
  return {
    /** Takes a slot of the instance and of its organization, or throws 429; the function returned gives them back (once). */
    enter(organizationId: number, instanceId: number): () => void {
      const instanceKey = `${organizationId}:${instanceId}`;
      if ((byOrganization.get(organizationId) ?? 0) >= limits.perOrganization)
        throw new ProxyBusyError("organization", limits.perOrganization);
      if ((byInstance.get(instanceKey) ?? 0) >= limits.perInstance) throw new ProxyBusyError("instance", limits.perInstance);
      bump(byOrganization, organizationId, 1);
      bump(byInstance, instanceKey, 1);
      let left = false;
      return () => {
        if (left) return;
        left = true;
        bump(byOrganization, organizationId, -1);
        bump(byInstance, instanceKey, -1);
      };
    },
  };
}
