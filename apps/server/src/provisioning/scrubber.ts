// Blots an instance's secrets out of a vendor's words before they are kept or answered. A vendor
// may echo what it was sent in any of the encodings it was sent in: as it is, URL-encoded (a form
// body, a query; either case of hex digits), JSON-escaped (a JSON body; `/` as `\/` or not), or in
// base64 (a Basic header, at any of the three alignments a secret can take inside a longer base64
// text); each is blotted, whatever its letter case. Then the words are decoded (percent-encoding,
// HTML entities, `\u` and `\/` escapes, over and over) and looked at again: when a secret still
// shows, in any case or as hex, the vendor's words are withheld whole rather than kept with a
// secret in them.
import { cut } from "../errors.js";

export const scrubbedMask = "********";
export const withheldMessage = "(the vendor's words are withheld: they repeated a secret)";
// A form this short would blot ordinary words: shorter secrets are caught by the second look.
const shortestBlotted = 3;
// Base64 of a secret inside a longer base64 text shows only the characters wholly within it: a
// piece this short would blot more than the secret.
const shortestBase64Piece = 4;
const decodingRounds = 3;

/** The forms of one secret a vendor's message may hold. */
export function encodingsOf(secret: string): string[] {
  const forms = new Set<string>([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
    // JSON may escape a slash too, and PHP's json_encode does by default.
    JSON.stringify(secret).slice(1, -1).replaceAll("/", "\\/"),
    Buffer.from(secret, "utf8").toString("hex"),
  ]);
  const bytes = Buffer.from(secret, "utf8");
  for (const offset of [0, 1, 2]) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    for (const alphabet of ["base64", "base64url"] as const) {
      const text = padded.toString(alphabet);
      // The characters whose six bits all come from the secret.
      const from = Math.ceil((offset * 8) / 6);
      const to = Math.floor(((offset + bytes.length) * 8) / 6);
      const piece = text.slice(from, to);
      if (piece.length >= shortestBase64Piece) forms.add(piece);
    }
  }
  return [...forms];
}

const escapeForRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The text decoded once more: percent-encoding (with `+` as a space), HTML entities, `\u`, `\x` and `\/` escapes. */
function decodedOnce(text: string): string {
  return text
    .replace(/\+/g, " ")
    .replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    })
    .replace(/&#x([0-9a-f]{1,6});/gi, (_all, hex: string) => String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff)))
    .replace(/&#(\d{1,7});/g, (_all, dec: string) => String.fromCodePoint(Math.min(parseInt(dec, 10), 0x10ffff)))
    .replace(/&(amp|lt|gt|quot|apos);/g, (_all, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" })[name] ?? "")
    .replace(/\\u([0-9a-f]{4})/gi, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\\//g, "/")
    .replace(/\\x([0-9a-f]{2})/gi, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** A function that blots every form of every secret out of a text, and keeps it short. */
export function scrubber(secrets: readonly string[], maxLength = 300): (text: string) => string {
  const known = [...new Set(secrets.filter((s) => s.length > 0))];
  const forms = [...new Set(known.filter((s) => s.length >= shortestBlotted).flatMap(encodingsOf))].sort((a, b) => b.length - a.length);
  const blot = forms.length ? new RegExp(forms.map(escapeForRegExp).join("|"), "gi") : undefined;
  const lowered = known.map((secret) => [secret.toLowerCase(), Buffer.from(secret, "utf8").toString("hex")]).flat();
  return (text) => {
    const scrubbed = blot ? text.replace(blot, scrubbedMask) : text;
    let decoded = scrubbed;
    for (let round = 0; round <= decodingRounds; round++) {
      const lower = decoded.toLowerCase();
      if (lowered.some((secret) => lower.includes(secret))) return withheldMessage;
      const next = decodedOnce(decoded);
      if (next === decoded) break;
      decoded = next;
    }
    return cut(scrubbed, maxLength);
  };
}
