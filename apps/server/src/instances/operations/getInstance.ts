// GET /instances/{id}: the instance as the API shows it.
import type { Caller } from "../../accounts/store.js";
import { find, present, type InstanceAccess, type InstanceResult } from "./sealed-instance.js";

export type GetInstanceDeps = InstanceAccess;

export async function getInstance(deps: GetInstanceDeps, caller: Caller, id: number): Promise<InstanceResult> {
  return present(deps, await find(deps, caller, id));
}
