// Reads one value out of a vendor's JSON answer by an RFC 6901 pointer (`/d/ResponseStatus`), as
// a connector's `acceptedBody` names it: for vendors that say "refused" inside a 200.

/** The value at `pointer` in `document`, or undefined when there is none. */
export function valueAt(document: unknown, pointer: string): unknown {
  let current = document;
  for (const token of pointer.split("/").slice(1)) {
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
