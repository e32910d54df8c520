// The background refresh of one instance's vendor tokens, whose refresh is due (the refresher
// claimed it): the refresh-token grant (a new password grant when that is refused), written over
// the state it started from. A write in between that re-provisioned the instance wins: this
// refresh is dropped. instance.invalid or instance.valid when it turns the instance's validity.
// The refresher's claim on the instance ends with the refresh's own write.
import { shownState } from "../../provisioning/state.js";
import { fullConfiguration, committed, maxWriteAttempts, recordingEvent, validityEvent, type InstanceAccess } from "./sealed-instance.js";
import type { InstanceProvisioning } from "../instance-provisioning.js";
import type { InstanceRecord } from "../store.js";

export interface RefreshInstanceTokensDeps extends InstanceAccess {
  provisioning: InstanceProvisioning;
}

/**
 * Whether the instance is valid after the refresh, or undefined when it was gone or changed (then
 * nothing was written). `claimOwner`: the refresher's claim that the write gives back.
 */
export async function refreshInstanceTokens(
  deps: RefreshInstanceTokensDeps,
  organizationId: number,
  id: number,
  claimOwner?: string,
): Promise<boolean | undefined> {
  const record = await deps.store.get(organizationId, id);
  if (!record) return undefined;
  const connector = deps.registry.require(record.connectorKey);
  const refreshed = await deps.provisioning.refresh(connector, record, fullConfiguration(deps, record));
  if (!refreshed) return undefined;
  const changes = claimOwner === undefined ? refreshed : { ...refreshed, releasesRefreshClaimOf: claimOwner };
  // Only over the state this refresh started from: the tokens it renewed replace those.
  let current: InstanceRecord | undefined = record;
  for (let attempt = 1; attempt <= maxWriteAttempts; attempt++) {
    const validity = validityEvent(current, changes);
    const outcome = await deps.store.update(organizationId, id, current.version, changes, validity && recordingEvent(deps, validity));
    if (outcome === "not-found") return undefined;
    if (outcome !== "version-mismatch") return shownState(committed(deps, outcome).record.provisioning).valid;
    current = await deps.store.get(organizationId, id);
    if (!current || current.provisioning !== record.provisioning) return undefined;
  }
  return undefined;
}
