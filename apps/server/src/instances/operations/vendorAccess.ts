// The instance side of proxyInstanceRequest (the HTTP side is proxy/): what a request to the
// vendor's own API on an instance's behalf is built from, and renewing the vendor's token when it
// is expired or the vendor refused it. A renewal is the refresher's refresh, under the same
// per-instance lease as every other call that touches the instance's credentials (vendor-lease.ts),
// so that it never runs beside a refresh or a check on any replica (a refresh token that rotates
// would be spent twice), and is held on afterwards for VERIFY_MIN_INTERVAL_SECONDS: a tenant
// whose proxied calls keep drawing 401s cannot make the server ask the vendor for tokens faster.
import type { HttpApi } from "@instances-api/spec-tools";
import type { Caller } from "../../accounts/store.js";
import type { Connector } from "../../connectors/registry.js";
import type { InstanceCredentials } from "../../provisioning/provisioner.js";
import { CredentialsNotUsableError, NoVendorApiError, ProxyOffError } from "../../proxy/errors.js";
import type { InstanceProvisioning } from "../instance-provisioning.js";
import type { InstanceRecord } from "../store.js";
import type { VendorLease } from "../vendor-lease.js";
import { refreshInstanceTokens } from "./refreshInstanceTokens.js";
import { find, fullConfiguration, type InstanceAccess } from "./sealed-instance.js";

export interface VendorAccessDeps extends InstanceAccess {
  provisioning: InstanceProvisioning;
  vendorLease: VendorLease;
}

export interface VendorAccess {
  id: number;
  organizationId: number;
  /** The version of the instance the access was read from. */
  version: number;
  connector: Connector;
  api: HttpApi;
  credentials: InstanceCredentials;
  /** The provisioning column the credentials come from: changed when a refresh or a change wrote new ones. */
  basis: string | undefined;
  /** The vendor's access token has expired, or its refresh is due. */
  renewalDue: boolean;
  /** False once the vendor refused the credentials (a check or a refresh), until a write makes them good again. */
  valid: boolean;
  expired: boolean;
}

/** What the instance's credentials allow: its vendor API and the credentials to send there. */
export async function vendorAccess(deps: VendorAccessDeps, caller: Caller, id: number, now = Date.now()): Promise<VendorAccess> {
  const record = await find(deps, caller, id);
  return accessOf(deps, record, now);
}

function accessOf(deps: VendorAccessDeps, record: InstanceRecord, now: number): VendorAccess {
  const connector = deps.registry.require(record.connectorKey);
  const api = connector.api;
  if (api.type === "none") throw new NoVendorApiError(connector.key, api.reason);
  if (deps.provisioning.mode === "off") throw new ProxyOffError();
  const { credentials, state } = deps.provisioning.forUse(connector, record, fullConfiguration(deps, record));
  // A live call goes only where the vendor accepted the credentials; a row that never recorded
  // where (checked before origins were kept) is checked again before anything is sent.
  if (deps.provisioning.mode === "live" && connector.credentialCheck.type !== "none" && state?.acceptedOrigin === undefined) {
    throw new CredentialsNotUsableError(connector.key, record.id, "where the vendor accepted them is not recorded");
  }
  const expiresAt = state?.expiresAt;
  const expired = expiresAt !== undefined && expiresAt <= now;
  const renewalDue = expired || (state?.refreshDueAt !== null && state?.refreshDueAt !== undefined && state.refreshDueAt <= now);
  return {
    id: record.id,
    organizationId: record.organizationId,
    version: record.version,
    connector,
    api,
    credentials,
    basis: record.provisioning,
    renewalDue,
    valid: state?.valid ?? true,
    expired,
  };
}

/**
 * The credentials after a renewal of the vendor's token: this call's own refresh, or one that
 * another call or the refresher made meanwhile (the credentials moved on from `seen`). Undefined
 * when none could be had now: a refresh or a check holds the lease (or has just ended, within
 * the shortest interval), or the refresh was refused.
 */
export async function renewedAccess(
  deps: VendorAccessDeps,
  caller: Caller,
  seen: VendorAccess,
  waitMs: number,
): Promise<VendorAccess | undefined> {
  const moved = async () => {
    const record = await find(deps, caller, seen.id);
    return record.provisioning !== seen.basis ? accessOf(deps, record, Date.now()) : undefined;
  };
  const already = await moved();
  if (already) return already;
  const claim = await deps.vendorLease.claim(caller.organizationId, seen.id);
  if ("gone" in claim) return undefined;
  if (claim.claimed) {
    try {
      await refreshInstanceTokens(deps, caller.organizationId, seen.id);
    } finally {
      await deps.vendorLease.coolDown(seen.id);
    }
    return moved();
  }
  // A lease that ends within the shortest interval between two calls is cooling down after one
  // (an active one runs for longer than that interval plus the vendor's time: server.ts): no
  // renewal is under way, and none will be soon. Otherwise (an active lease, or a row another
  // transaction holds at this moment) another refresh may be under way: its new token is worth a
  // short wait.
  const left = claim.heldUntil - Date.now();
  if (left > 0 && left <= deps.vendorLease.minIntervalMs) return undefined;
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const renewed = await moved();
    if (renewed) return renewed;
  }
  return undefined;
}
