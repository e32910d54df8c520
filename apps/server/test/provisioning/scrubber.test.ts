// The scrubber blots a secret out of a vendor's words in every encoding a vendor may echo it in.
import { describe, expect, it } from "vitest";
import { scrubber } from "../../src/provisioning/scrubber.js";

const secret = "p@ss w/rd";
const scrub = scrubber([secret]);

describe("scrubber", () => {
  it.each([
    ["as it is", `bad password ${secret}`],
    ["URL-encoded (fixed: it leaked p%40ss%20w%2Frd)", `bad password ${encodeURIComponent(secret)}`],
    ["form-encoded", `body was password=${new URLSearchParams({ p: secret }).toString().slice(2)}`],
    ["JSON-escaped", `got ${JSON.stringify({ password: 'a"b' + secret })}`],
    ["in base64, aligned", `Basic ${Buffer.from(secret).toString("base64")}`],
    ["in base64 behind one byte", `Basic ${Buffer.from(`u${secret}`).toString("base64")}`],
    ["in base64 behind two bytes (a Basic header's user:)", `Basic ${Buffer.from(`us:${secret}`).toString("base64")}`],
    ["in base64url", `token ${Buffer.from(`xy${secret}`).toString("base64url")}`],
  ])("blots a secret echoed %s", (_name, text) => {
    const scrubbed = scrub(text);
    expect(scrubbed).toContain("********");
    for (const form of [secret, encodeURIComponent(secret), "p%40ss", "w%2Frd"]) expect(scrubbed).not.toContain(form);
    // What base64 of the secret's middle reads as is gone too.
    expect(scrubbed).not.toContain(Buffer.from(secret).toString("base64").slice(0, 8));
  });

  it("leaves other words alone, blots nothing for secrets too short to tell, and keeps it short", () => {
    expect(scrubber(["ab"])("a cab")).toBe("a cab");
    expect(scrub("nothing secret here")).toBe("nothing secret here");
    expect(scrub("x".repeat(1000)).length).toBeLessThanOrEqual(301);
  });
});
