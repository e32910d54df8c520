// GET /instance: the instance the Authorization header's `Element <instance token>` names, exactly
// as GET /instances/{id} shows it. Authentication found it; it may have been deleted since (404).
import type { Caller } from "../../accounts/store.js";
import { getInstance, type GetInstanceDeps } from "./getInstance.js";
import type { InstanceResult } from "./sealed-instance.js";

export type GetCurrentInstanceDeps = GetInstanceDeps;

export function getCurrentInstance(deps: GetCurrentInstanceDeps, caller: Caller & { instanceId: number }): Promise<InstanceResult> {
  return getInstance(deps, caller, caller.instanceId);
}
