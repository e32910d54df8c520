// Rejects a JSON body that holds a `__proto__`, `constructor` or `prototype` key at any depth.
// JSON.parse keeps them as plain data, but code that copies such an object with Object.assign or
// a merge can change a prototype; no field of this API has those names, so they are refused.
// Likewise a query key with brackets (`tags[x]=`, `a[b][c]=`, `tags[__proto__]=`): Express reads
// the query flat, but the validator re-reads bracketed keys as nested objects (qs), where
// `tags[__proto__]` silently vanishes and drops the filter. No parameter of this API is nested.
import type { RequestHandler } from "express";
import { InvalidRequestError } from "../errors.js";

const forbidden = new Set(["__proto__", "constructor", "prototype"]);

// Iterative, not recursive: a deeply nested body must not overflow the stack.
function findForbiddenKey(body: unknown): string | undefined {
  const pending: [value: unknown, path: string][] = [[body, "/body"]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, path] = next;
    if (value === null || typeof value !== "object") continue;
    for (const key of Object.keys(value)) {
      if (forbidden.has(key)) return `${path}/${key}`;
      pending.push([(value as Record<string, unknown>)[key], `${path}/${key}`]);
    }
  }
  return undefined;
}

/**
 * After the validator (an unknown path stays a 404), on the query as sent: a key with `[` or `]`
 * (also percent-encoded) is a 400, even one the validator's reading made vanish.
 */
export function rejectNestedQueryKeys(): RequestHandler {
  return (req, _res, next) => {
    const nested = Object.keys(req.query).find((key) => /[[\]]/.test(key));
    if (nested !== undefined) {
      const key = nested.slice(0, 100);
      throw new InvalidRequestError(`The query key ${key} is not allowed: query keys are plain names (tags=a&tags=b), never nested`, [
        { path: `/query/${key}`, message: "is a nested key" },
      ]);
    }
    next();
  };
}

export function rejectPollutingKeys(): RequestHandler {
  return (req, _res, next) => {
    const found = findForbiddenKey(req.body);
    if (found)
      throw new InvalidRequestError(`${found} is not allowed: no field is named __proto__, constructor or prototype`, [
        { path: found, message: "is a forbidden key" },
      ]);
    next();
  };
}
