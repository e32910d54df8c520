// The scrubber blots a secret out of a vendor's words in every encoding a vendor may echo it in,
// and withholds the words whole when a secret still shows once they are decoded.
import { describe, expect, it } from "vitest";
import { scrubber, withheldMessage } from "../../src/provisioning/scrubber.js";

const secret = "p@ss w/rd";
const scrub = scrubber([secret]);

/** Every way the secret could still be read in a scrubbed text. */
function showsSecret(text: string): boolean {
  const lower = text.toLowerCase();
  return [secret, encodeURIComponent(secret), "p%40ss", "w%2frd", "w\\/rd", Buffer.from(secret).toString("base64").slice(0, 8)].some(
    (form) => lower.includes(form.toLowerCase()),
  );
}

describe("scrubber", () => {
  it.each([
    ["as it is", `bad password ${secret}`],
    ["URL-encoded (fixed: it leaked p%40ss%20w%2Frd)", `bad password ${encodeURIComponent(secret)}`],
    ["URL-encoded in lower case (fixed: p%40ss%20w%2frd leaked)", `bad password ${encodeURIComponent(secret).toLowerCase()}`],
    ["form-encoded", `body was password=${new URLSearchParams({ p: secret }).toString().slice(2)}`],
    ["JSON-escaped", `got ${JSON.stringify({ password: 'a"b' + secret })}`],
    ["JSON-escaped with / as \\/, as PHP's json_encode writes it (fixed)", `got {"password":"${secret.replaceAll("/", "\\/")}"}`],
    ["in base64, aligned", `Basic ${Buffer.from(secret).toString("base64")}`],
    ["in base64 behind one byte", `Basic ${Buffer.from(`u${secret}`).toString("base64")}`],
    ["in base64 behind two bytes (a Basic header's user:)", `Basic ${Buffer.from(`us:${secret}`).toString("base64")}`],
    ["in base64url", `token ${Buffer.from(`xy${secret}`).toString("base64url")}`],
    ["in upper case (fixed)", `BAD PASSWORD ${secret.toUpperCase()}`],
    ["as hex (fixed)", `bytes ${Buffer.from(secret).toString("hex")}`],
    ["URL-encoded twice (fixed)", `bad ${encodeURIComponent(encodeURIComponent(secret))}`],
    ["as HTML entities (fixed)", `bad ${[...secret].map((c) => `&#${c.codePointAt(0)};`).join("")}`],
    ["as \\u escapes in text (fixed)", `bad ${[...secret].map((c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`).join("")}`],
  ])("leaves no secret echoed %s", (_name, text) => {
    const scrubbed = scrub(text);
    expect(scrubbed === withheldMessage || scrubbed.includes("********")).toBe(true);
    expect(showsSecret(scrubbed)).toBe(false);
  });

  it("withholds the words that hold a secret too short to blot (fixed: a two-character password was kept)", () => {
    expect(scrubber(["Zq"])("wrong password Zq for user")).toBe(withheldMessage);
    expect(scrubber(["Zq"])("wrong password for user")).toBe("wrong password for user");
  });

  it("leaves other words alone and keeps them short", () => {
    expect(scrub("nothing secret here")).toBe("nothing secret here");
    expect(scrub("x".repeat(1000)).length).toBeLessThanOrEqual(301);
  });
});
