// Blots an instance's secrets out of a vendor's words before they are kept or answered. A vendor
// may echo what it was sent in any of the encodings it was sent in: as it is, URL-encoded (a form
// body, a query), JSON-escaped (a JSON body), or in base64 (a Basic header, at any of the three
// alignments a secret can take inside a longer base64 text). Every one of them is blotted.
import { cut } from "../errors.js";

export const scrubbedMask = "********";
// A secret this short would blot ordinary words; the sandbox's and the spec's values are longer.
const shortest = 3;
// Base64 of a secret inside a longer base64 text shows only the characters wholly within it: a
// piece this short would blot more than the secret.
const shortestBase64Piece = 4;

/** The forms of one secret a vendor's message may hold. */
export function encodingsOf(secret: string): string[] {
  const forms = new Set<string>([
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
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

/** A function that blots every form of every secret out of a text, and keeps it short. */
export function scrubber(secrets: readonly string[], maxLength = 300): (text: string) => string {
  const forms = [...new Set(secrets.filter((s) => s.length >= shortest).flatMap(encodingsOf))].sort((a, b) => b.length - a.length);
  return (text) =>
    cut(
      forms.reduce((t, form) => t.split(form).join(scrubbedMask), text),
      maxLength,
    );
}
