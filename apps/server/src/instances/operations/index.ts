// The instance operations, one per spec operationId, bound to their dependencies once: what the
// routes call, and the refresher. Each operation lives in its own file beside this one.
import type { Caller } from "../../accounts/store.js";
import type { CreateInstanceBody, SimulatedVendorChange, UpdateInstanceRequest } from "../../api-types.js";
import type { InstanceProvisioning } from "../instance-provisioning.js";
import type { CheckOutboundUrl } from "../notifications.js";
import type { VendorLease } from "../vendor-lease.js";
import type { HookProvisioning } from "../../vendor-hooks/hook-provisioning.js";
import { createInstance } from "./createInstance.js";
import { deleteInstance } from "./deleteInstance.js";
import { getCurrentInstance } from "./getCurrentInstance.js";
import { getInstance } from "./getInstance.js";
import { listInstances, type ListRequest } from "./listInstances.js";
import { refreshInstanceTokens } from "./refreshInstanceTokens.js";
import { replaceInstance } from "./replaceInstance.js";
import { rotateInstanceToken } from "./rotateInstanceToken.js";
import type { InstanceAccess, InstanceResult } from "./sealed-instance.js";
import { sendTestEvent } from "./sendTestEvent.js";
import { simulateVendorChange } from "./simulateVendorChange.js";
import { updateInstance } from "./updateInstance.js";
import { verifyInstance } from "./verifyInstance.js";

export type { InstanceResult } from "./sealed-instance.js";
export type { ListRequest } from "./listInstances.js";

export interface InstanceOperationsDeps extends InstanceAccess {
  provisioning: InstanceProvisioning;
  vendorLease: VendorLease;
  hooks: HookProvisioning;
  /** How long a call waits for a token renewal another call has under way. */
  renewalWaitMs: number;
  checkOutboundUrl: CheckOutboundUrl;
  /** How long an Idempotency-Key is remembered. */
  idempotencyKeyTtlSeconds: number;
  /** A vendor record larger than this, as JSON, is not sent whole (the poller's cap, POLLER_RECORD_MAX_BYTES). */
  vendorRecordMaxBytes: number;
}

export type InstanceOperations = ReturnType<typeof instanceOperations>;

export function instanceOperations(deps: InstanceOperationsDeps) {
  const verifying = new Map<string, Promise<InstanceResult>>();
  return {
    createInstance: (caller: Caller, body: CreateInstanceBody, idempotencyKey: string | undefined) =>
      createInstance(deps, caller, body, idempotencyKey),
    listInstances: (caller: Caller, request: ListRequest) => listInstances(deps, caller, request),
    getInstance: (caller: Caller, id: number) => getInstance(deps, caller, id),
    getCurrentInstance: (caller: Caller & { instanceId: number }) => getCurrentInstance(deps, caller),
    updateInstance: (caller: Caller, id: number, patch: UpdateInstanceRequest, ifMatch: string | undefined) =>
      updateInstance(deps, caller, id, patch, ifMatch),
    replaceInstance: (caller: Caller, id: number, body: CreateInstanceBody, ifMatch: string | undefined) =>
      replaceInstance(deps, caller, id, body, ifMatch),
    deleteInstance: (caller: Caller, id: number, ifMatch: string | undefined) => deleteInstance(deps, caller, id, ifMatch),
    rotateInstanceToken: (caller: Caller, id: number) => rotateInstanceToken(deps, caller, id),
    verifyInstance: (caller: Caller, id: number) => verifyInstance({ ...deps, verifying }, caller, id),
    sendTestEvent: (caller: Caller, id: number) => sendTestEvent(deps, caller, id),
    simulateVendorChange: (caller: Caller, id: number, change: SimulatedVendorChange) => simulateVendorChange(deps, caller, id, change),
    refreshInstanceTokens: (organizationId: number, id: number, claimOwner: string) =>
      refreshInstanceTokens(deps, organizationId, id, claimOwner),
  };
}
