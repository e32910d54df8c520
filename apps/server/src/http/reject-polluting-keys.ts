// Rejects a JSON body that holds a `__proto__`, `constructor` or `prototype` key at any depth.
// JSON.parse keeps them as plain data, but code that copies such an object with Object.assign or
// a merge can change a prototype; no field of this API has those names, so they are refused.
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

export function rejectPollutingKeys(): RequestHandler {
  return (req, _res, next) => {
    const found = findForbiddenKey(req.body);
    if (found) throw new InvalidRequestError(`${found} is not allowed: no field is named __proto__, constructor or prototype`, [{ path: found, message: "is a forbidden key" }]);
    next();
  };
}
