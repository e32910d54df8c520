// HEAD works wherever GET does (RFC 9110 §9.3.2: the same status and headers, no body). Express
// answers HEAD with a path's GET route, but the validator knows only the operations the spec
// lists and would answer 405. The spec documents GET alone (HEAD is implied by HTTP); the
// validator is given a copy in which each GET has a HEAD twin, so a HEAD request is routed,
// authenticated and validated exactly as its GET is.
import type { SpecDocument } from "@instances-api/spec-tools";

type Operation = { operationId?: string } & Record<string, unknown>;
type PathItem = { get?: Operation; head?: Operation } & Record<string, unknown>;

export function withHeadOperations(spec: SpecDocument): SpecDocument {
  const copy = structuredClone(spec);
  for (const item of Object.values((copy.paths ?? {}) as Record<string, PathItem>)) {
    if (item.get && !item.head) item.head = { ...item.get, operationId: `${item.get.operationId ?? "get"}Head` };
  }
  return copy;
}
