// Which headers cross the proxy, each way. End-to-end headers go as sent; what belongs to one hop
// (RFC 9110 §7.6.1: Connection and the headers it names, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-*), what authenticates the caller to us (Authorization,
// cookies, any header that carries one of the caller's own secrets) and what describes our side
// of the network (Forwarded, X-Forwarded-*, Host) stays here. Coming back, the vendor's cookies
// stay here too: the vendor's session is the platform's, not the application's.
import { encodingsOf } from "../provisioning/scrubber.js";

const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const neverForwarded = new Set(["host", "authorization", "cookie", "cookie2", "forwarded", "via", "expect"]);
const neverReturned = new Set(["set-cookie", "set-cookie2"]);

type Headers = Record<string, string | string[] | undefined>;

/** The names the Connection header lists: hop-by-hop too, for this one connection. */
function connectionTokens(headers: Headers): Set<string> {
  const value = headers.connection;
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return new Set(
    text
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

const carries = (value: string | string[], secrets: readonly string[]) =>
  secrets.some((secret) => (Array.isArray(value) ? value : [value]).some((v) => v.includes(secret)));

/** Secrets shorter than this are not looked for coming back: they would match most headers, and hide little. */
const shortestLookedFor = 4;

/**
 * Whether a value holds one of `secrets` in any form a vendor may repeat it in (scrubber.ts's:
 * as sent, URL- or JSON-escaped, hex, or base64 as inside a `Basic` header), whatever its case.
 */
// The lowered forms of a secret, for the last secrets looked for: made for every proxied answer
// otherwise (a profile put it at 2 % of a call's CPU). Bounded; the oldest is forgotten first.
const formsOf = new Map<string, readonly string[]>();
const formsRemembered = 1_000;
function loweredForms(secret: string): readonly string[] {
  let forms = formsOf.get(secret);
  if (!forms) {
    forms = encodingsOf(secret).map((form) => form.toLowerCase());
    if (formsOf.size >= formsRemembered) formsOf.delete(formsOf.keys().next().value!);
    formsOf.set(secret, forms);
  }
  return forms;
}

function repeatsAny(secrets: readonly string[]): (value: string | string[]) => boolean {
  const forms = [...new Set(secrets.filter((secret) => secret.length >= shortestLookedFor).flatMap(loweredForms))];
  return (value) => (Array.isArray(value) ? value : [value]).some((v) => forms.some((form) => v.toLowerCase().includes(form)));
}

/**
 * The caller's headers that go on to the vendor. `secrets`: what the caller authenticated with
 * here (user and organization secrets, the instance token): a header carrying one is dropped
 * whatever its name.
 */
export function forwardedRequestHeaders(headers: Headers, secrets: readonly string[]): Record<string, string | string[]> {
  const dropped = connectionTokens(headers);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || hopByHop.has(lower) || dropped.has(lower) || neverForwarded.has(lower)) continue;
    if (lower.startsWith("x-forwarded-") || carries(value, secrets)) continue;
    out[lower] = value;
  }
  return out;
}

/**
 * The vendor's headers that go back to the caller: not its cookies, not hop-by-hop ones, and not
 * one that carries a secret the platform holds for the instance (a vendor echoing a token back),
 * in whatever form: a vendor that repeats the `Authorization` it was sent repeats the password
 * in base64, and one may change a token's case.
 */
export function returnedResponseHeaders(headers: Headers, secrets: readonly string[]): Record<string, string | string[]> {
  const dropped = connectionTokens(headers);
  const repeatsSecret = repeatsAny(secrets);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || hopByHop.has(lower) || dropped.has(lower) || neverReturned.has(lower)) continue;
    if (repeatsSecret(value)) continue;
    out[lower] = value;
  }
  return out;
}

/**
 * A vendor's Retry-After (seconds, or an HTTP date), at most `maxSeconds`: a vendor's hour-long
 * wait is its own, and a client that trusted it would stall that long. Undefined when absent or
 * unreadable.
 */
export function clampedRetryAfter(value: string | string[] | undefined, maxSeconds: number, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  const seconds = /^\d+$/.test(text) ? Number(text) : Math.ceil((Date.parse(text) - now) / 1000);
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(Math.max(seconds, 0), maxSeconds);
}
