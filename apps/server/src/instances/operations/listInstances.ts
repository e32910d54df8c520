// GET /instances: a page of the organization's instances, oldest first, filtered by tags and
// connector, with the cursor of the next page when there is one. A page may hold fewer than asked
// (even none) and still have a next one: where the store's walk stopped at its bound per page.
import type { Caller } from "../../accounts/store.js";
import type { InstanceBody } from "../../api-types.js";
import { decodeCursor, encodeCursor, type ListFilters } from "../cursor.js";
import { candidatesPerPage } from "../store.js";
import { present, type InstanceAccess } from "./sealed-instance.js";

export interface ListRequest extends ListFilters {
  pageSize: number;
  nextPage: string | undefined;
}

export type ListInstancesDeps = InstanceAccess;

export async function listInstances(
  deps: ListInstancesDeps,
  caller: Caller,
  request: ListRequest,
): Promise<{ instances: InstanceBody[]; nextPage: string | undefined }> {
  if (request.connectorKey !== undefined) deps.registry.require(request.connectorKey);
  const afterId = decodeCursor(request.nextPage, request);
  const { records, resumeAfter } = await deps.store.list({
    organizationId: caller.organizationId,
    tags: request.tags,
    connectorKey: request.connectorKey,
    afterId,
    limit: request.pageSize + 1,
    maxExamined: candidatesPerPage,
  });
  const page = records.slice(0, request.pageSize);
  const last = page.at(-1);
  // A page past its size resumes after its last instance; a walk the store stopped short (a page
  // with fewer, even none) after the last id it examined.
  const resumeFrom = records.length > request.pageSize && last ? last.id : resumeAfter;
  return {
    instances: page.map((record) => present(deps, record).instance),
    nextPage: resumeFrom === undefined ? undefined : encodeCursor(resumeFrom, request),
  };
}
