// JSON pointers (RFC 6901) into the bundle, and the local `$ref`s that use them. The one place
// that knows `~0` and `~1`.
import { isJsonObject, type SpecDocument } from "./document.js";

/** A pointer fragment from its parts: `pointerOf(["paths", "/instances"])` is `#/paths/~1instances`. */
export function pointerOf(parts: readonly string[]): string {
  return "#/" + parts.map((part) => part.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

/** The parts of a local pointer fragment (`#/components/schemas/Instance`). */
export function partsOf(pointer: string): string[] {
  if (!pointer.startsWith("#/")) throw new Error(`not a local JSON pointer: ${pointer}`);
  return pointer
    .slice(2)
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The node a `$ref` points to, when `node` is one; `node` itself otherwise. */
export function resolveRef<T = unknown>(document: SpecDocument, node: unknown): T {
  const ref = isJsonObject(node) ? node.$ref : undefined;
  return (typeof ref === "string" ? walk(document, partsOf(ref)) : node) as T;
}

/** The value at `parts` in the document, following each `$ref` met on the way. */
export function walk<T = unknown>(document: SpecDocument, parts: readonly string[]): T {
  return parts.reduce<unknown>(
    (at, part) => resolveRef(document, (resolveRef<Record<string, unknown> | undefined>(document, at) ?? {})[part]),
    document,
  ) as T;
}

/** A copy of a node with every `$ref` in it resolved (the spec's schemas have no cycles). */
export function dereferenced<T = unknown>(document: SpecDocument, node: unknown): T {
  const resolved = resolveRef(document, node);
  if (Array.isArray(resolved)) return resolved.map((item) => dereferenced(document, item)) as T;
  if (!isJsonObject(resolved)) return resolved as T;
  return Object.fromEntries(Object.entries(resolved).map(([key, value]) => [key, dereferenced(document, value)])) as T;
}
