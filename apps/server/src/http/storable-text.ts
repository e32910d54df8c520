// Text a store keeps exactly as it was sent, checked once at the edge for every string of a
// request: its body (values and property names), its query and its path. Refused, with a 400
// naming where: bytes that are not UTF-8 (decoders would turn them into U+FFFD silently), an
// unpaired surrogate such as "\ud800" (SQLite would keep U+FFFD bytes in its place, PostgreSQL
// refuses it in jsonb) and NUL (PostgreSQL refuses it in text). What passes reads back as sent,
// on either store, so no stored row can make a read fail.
import { isUtf8 } from "node:buffer";
import type { Request } from "express";
import { ApiError, InvalidRequestError, invalidPart, problemType } from "../errors.js";

const unpairedSurrogate = /\p{Surrogate}/u; // with the u flag, a well-formed pair is one code point
const notUtf8 = "is not valid UTF-8";

/** Why this text cannot be stored as it is, or undefined when it can. */
function flawOf(text: string): string | undefined {
  if (unpairedSurrogate.test(text)) return "must be well-formed Unicode, without unpaired surrogates";
  if (text.includes("\u0000")) return "must not contain NUL (U+0000)";
  return undefined;
}

function refusal(path: string, message: string): InvalidRequestError {
  const part = invalidPart(path, message);
  return new InvalidRequestError(`${part.path} ${part.message}`, [part]);
}

/**
 * The first string of a parsed value (a property name or a string value, at any depth) for which
 * `flaw` says something, as the path and what it said. Iterative: deep nesting cannot overflow the stack.
 */
function firstFlaw(
  value: unknown,
  path: string,
  flaw: (text: string) => string | undefined,
): { path: string; message: string } | undefined {
  const pending: [value: unknown, path: string][] = [[value, path]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, at] = next;
    if (typeof item === "string") {
      const message = flaw(item);
      if (message) return { path: at, message };
    }
    if (item === null || typeof item !== "object") continue;
    const entries: [string, unknown][] = Object.entries(item);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const message = flaw(key);
      if (message) return { path: at, message: `has a property name that ${message}` };
      pending.push([child, `${at}/${key}`]);
    }
  }
  return undefined;
}

const replacementCharacter = Buffer.from("\ufffd");
const privateUseCharacter = Buffer.from("\ue000"); // as long as U+FFFD in UTF-8
// In UTF-8 JSON, NUL and surrogates can only come as escapes (raw, they are neither valid JSON
// nor valid UTF-8). A body without such an escape needs no walk (a wide one has 100,000 strings).
const suspectEscape = /\\u(?:0000|[dD][89a-fA-F])/;

/**
 * The json parser's `verify` hook, on the raw bytes before they are decoded and parsed: JSON is
 * UTF-8 (RFC 8259), so bytes that are not are refused rather than decoded with U+FFFD in their
 * place, and every string (values and property names) must be text a store keeps as sent.
 */
export function verifyBodyText(_req: unknown, _res: unknown, bytes: Buffer, encoding: string): void {
  if (encoding !== "utf-8") {
    throw new ApiError(
      415,
      problemType("unsupported-media-type"),
      "Unsupported media type",
      "The body must be JSON in UTF-8 (Content-Type: application/json)",
    );
  }
  if (!isUtf8(bytes)) throw refusal(whereNotUtf8(bytes), notUtf8);
  const text = bytes.toString("utf8");
  if (!suspectEscape.test(text)) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return; // the parser says how it is malformed
  }
  const found = firstFlaw(parsed, "/body", flawOf);
  if (found) throw refusal(found.path, found.message);
}

/**
 * Where in a body the bytes that are not UTF-8 are: decoding puts U+FFFD for each invalid
 * sequence, so with the body's own U+FFFD swapped for another character first, the first string
 * that holds U+FFFD is the place. The whole body when it does not parse.
 */
function whereNotUtf8(bytes: Buffer): string {
  const swapped = Buffer.from(bytes);
  for (let at = swapped.indexOf(replacementCharacter); at !== -1; at = swapped.indexOf(replacementCharacter, at + 3)) {
    privateUseCharacter.copy(swapped, at);
  }
  try {
    const parsed: unknown = JSON.parse(swapped.toString("utf8"));
    return firstFlaw(parsed, "/body", (text) => (text.includes("\ufffd") ? notUtf8 : undefined))?.path ?? "/body";
  } catch {
    return "/body";
  }
}

/**
 * A percent-encoded part of a URL as text, or why it cannot be stored. A `%` that starts no
 * escape stays a `%`, as Express reads it; escapes that are not UTF-8 make decodeURIComponent throw.
 */
function decodeUrlPart(raw: string): { text: string } | { flaw: string } {
  let text: string;
  try {
    text = decodeURIComponent(raw.replace(/%(?![0-9a-fA-F]{2})/g, "%25"));
  } catch {
    return { flaw: notUtf8 };
  }
  const flaw = flawOf(text);
  return flaw ? { flaw } : { text };
}

/** Printable ASCII without a `%`: a URL that decodes to itself, so holds nothing unstorable. */
const plainUrl = /^[!-$&-~]*$/;

/**
 * The error for the first query parameter or path parameter of this request that cannot be
 * stored, if there is one. Read from the raw URL: Express's parsers put U+FFFD in place of
 * bytes that are not UTF-8. A path parameter is named from the route the validator matched.
 */
export function unstorableUrlText(req: Request): InvalidRequestError | undefined {
  if (plainUrl.test(req.originalUrl)) return undefined; // most requests: nothing to decode
  const [rawPath = "", rawQuery = ""] = req.originalUrl.split(/\?(.*)/s);
  for (const pair of rawQuery.split("&")) {
    const [rawName = "", rawValue = ""] = pair.replace(/\+/g, " ").split(/=(.*)/s);
    const name = decodeUrlPart(rawName);
    if ("flaw" in name) return refusal("/query", `has a parameter name that ${name.flaw}`);
    const value = decodeUrlPart(rawValue);
    if ("flaw" in value) return refusal(`/query/${name.text}`, value.flaw);
  }
  const segments = rawPath.split("/");
  const route = ((req as Request & { openapi?: { openApiRoute?: string } }).openapi?.openApiRoute ?? "").split("/");
  for (let i = 0; i < segments.length; i++) {
    const decoded = decodeUrlPart(segments[i]!);
    if (!("flaw" in decoded)) continue;
    // Routes and paths line up from their ends (the route may or may not hold the base path).
    const template = /^\{(.+)\}$/.exec(route[route.length - segments.length + i] ?? "");
    return refusal(template ? `/path/${template[1]}` : "/path", decoded.flaw);
  }
  return undefined;
}
