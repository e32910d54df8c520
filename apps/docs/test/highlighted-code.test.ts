// The samples of a request example, highlighted at build time: the text reads back exactly as
// written, each kind of token has Redoc's class and theme colour, and no text node is only
// whitespace (Redoc's HTML reader drops those, gluing words and lines together).
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { highlightedCode, type Language } from "../src/highlighted-code.js";
import { samplesDir } from "../src/samples.js";
import { textOf } from "./html-text.js";

const samples = readdirSync(samplesDir)
  .filter((name) => /\.(sh|ts)$/.test(name))
  .map((name) => [name, name.endsWith(".sh") ? "bash" : "typescript"] as [string, Language]);

/** The runs of text Redoc's reader sees: between tags, and beside each character reference. */
function textPieces(html: string): string[] {
  return html.split(/<\/?[A-Za-z][^>]*>|&[a-z]+;/).filter((piece) => piece !== "");
}

/** The tokens of a kind, as text. */
function tokensOf(html: string, kind: string): string[] {
  return [...html.matchAll(new RegExp(`<span class="th-token th-${kind}"[^>]*>([^<]*)</span>`, "g"))].map((m) => textOf(m[1]!).trim());
}

describe("highlightedCode", () => {
  it.each(samples)("keeps %s exactly as written, in no text node that is only whitespace", (name, language) => {
    const source = readFileSync(path.join(samplesDir, name), "utf8").trimEnd();
    const html = highlightedCode(source, language);
    expect(html).toMatch(new RegExp(`^<pre class="highlighted-sample" data-language="${language}"><code class="th-code `));
    expect(textOf(html)).toBe(source);
    expect(textPieces(html).filter((piece) => piece.trim() === "")).toEqual([]);
  });

  it.each<[string, Language, string, Record<string, string[]>]>([
    [
      "a command, its options, strings, variables and a comment",
      "bash",
      `API=http://127.0.0.1:3000\n# a comment\nKEY=$(node -e "console.log(1)")\ncurl -s -X POST "$API/x" \\\n  -H 'A: b' -d 'it'\\''s'`,
      {
        command: ["curl", "-s", "-X", "-H", "-d"],
        string: ['"$API/x"', "'A: b'", "'it'", "'s'"],
        variable: ["API=", "KEY=", '$(node -e "console.log(1)")'],
        comment: ["# a comment"],
      },
    ],
    [
      "keywords, strings, numbers, calls, properties and comments",
      "typescript",
      `import { a } from "b";\nconst { data } = await call(client, { type: "x", n: 42 }); // note\nif (data) console.log(data.id, \`t\${1}\`);`,
      {
        keyword: ["import", "from", "const", "await", "if"],
        string: ['"b"', '"x"', "`t${", "}`"],
        number: ["42", "1"],
        function: ["call"],
        property: ["log", "id"],
        comment: ["// note"],
      },
    ],
  ])("colours %s", (_, language, source, want) => {
    const html = highlightedCode(source, language);
    expect(textOf(html)).toBe(source);
    for (const [kind, tokens] of Object.entries(want)) expect(tokensOf(html, kind), kind).toEqual(tokens);
  });

  it("keeps the space beside a < or & that needs no reference as text", () => {
    const source = "if (a < b && c) x = '<INSERT_SECRET> &copy';";
    const html = highlightedCode(source, "typescript");
    expect(textOf(html)).toBe(source);
    expect(html).toContain("a < b");
    expect(html).toContain("&lt;INSERT_SECRET> &amp;copy");
    expect(textPieces(html).filter((piece) => piece.trim() === "")).toEqual([]);
  });
});
