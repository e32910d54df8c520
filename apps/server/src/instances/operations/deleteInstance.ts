// DELETE /instances/{id}: the instance goes, with instance.deleted recorded in the same
// transaction (its other pending deliveries are dropped by the outbox).
import type { Caller } from "../../accounts/store.js";
import { NotFoundError, PreconditionFailedError } from "../../errors.js";
import { checkIfMatch, committed, find, recordingEvent, type InstanceAccess } from "./sealed-instance.js";

export type DeleteInstanceDeps = InstanceAccess;

export async function deleteInstance(deps: DeleteInstanceDeps, caller: Caller, id: number, ifMatch: string | undefined): Promise<void> {
  let expectedVersion: number | undefined;
  if (ifMatch !== undefined) {
    const record = await find(deps, caller, id);
    checkIfMatch(ifMatch, record);
    expectedVersion = record.version;
  }
  const outcome = await deps.store.delete(caller.organizationId, id, expectedVersion, recordingEvent(deps, "instance.deleted"));
  if (outcome === "not-found") throw new NotFoundError(`There is no instance ${id}`);
  if (outcome === "version-mismatch")
    throw new PreconditionFailedError("The instance changed while this request was being applied; read it again");
  committed(deps, outcome);
}
