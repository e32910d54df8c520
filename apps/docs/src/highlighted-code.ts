// Code highlighted at build time, as HTML for a Markdown description. Redoc highlights only an
// operation's x-codeSamples; a fenced block in Markdown (where an operation with several request
// examples carries its samples, see docs-document.ts) it shows as plain text. So those samples go in
// as HTML, their tokens coloured with the same classes and theme colours as Redoc's own samples.
import ts from "typescript";

export type Language = "bash" | "typescript";

type Kind = "command" | "string" | "comment" | "variable" | "keyword" | "function" | "property" | "number";
interface Token {
  text: string;
  kind?: Kind;
}

/** Redoc's theme colour of each kind of token, as its own highlighter writes them. */
const colors: Record<Kind, string> = {
  command: "function",
  string: "string",
  comment: "comment",
  variable: "variable",
  keyword: "keyword",
  function: "function",
  property: "property-string",
  number: "number",
};

/** Redoc's name of each language, on the `<code>` element. */
const redocLanguage: Record<Language, string> = { bash: "shell", typescript: "ts" };

export function highlightedCode(source: string, language: Language): string {
  const tokens = language === "bash" ? bashTokens(source) : typescriptTokens(source);
  const code = withoutBlankTextNodes(tokens)
    .map(({ text, kind }) =>
      kind
        ? `<span class="th-token th-${kind}" style="color: var(--code-block-tokens-${colors[kind]}-color)">${escapeHtml(text)}</span>`
        : escapeHtml(text),
    )
    .join("");
  const lang = redocLanguage[language];
  return `<pre class="highlighted-sample" data-language="${language}"><code class="th-code th-code--${lang}" data-language="${lang}">${code}</code></pre>`;
}

/**
 * Tokens whose text is only whitespace, joined to a neighbour: Redoc's HTML reader drops a text
 * node that is only whitespace, which would glue `curl` to `-s` and one line to the next.
 */
function withoutBlankTextNodes(tokens: Token[]): Token[] {
  const out: Token[] = [];
  let pending = "";
  for (const token of tokens) {
    if (token.text.trim() === "") {
      if (out.length) out[out.length - 1] = { ...out[out.length - 1]!, text: out[out.length - 1]!.text + token.text };
      else pending += token.text;
      continue;
    }
    const last = out[out.length - 1];
    if (last && !last.kind && !token.kind) last.text += token.text;
    else out.push({ ...token, text: pending + token.text });
    pending = "";
  }
  if (pending) out.push({ text: pending });
  return out;
}

/**
 * A shell command line by line: comments, quoted strings, variables and command substitutions,
 * variable assignments, and each command's name and options (coloured as Redoc colours `curl -H`).
 */
function bashTokens(source: string): Token[] {
  const rules: [RegExp, Kind | undefined][] = [
    [/#[^\n]*/y, "comment"],
    [/'[^']*'/y, "string"],
    [/"(?:[^"\\]|\\.)*"/y, "string"],
    [/\$\((?:"[^"]*"|'[^']*'|[^()'"])*\)/y, "variable"],
    [/\$\w+/y, "variable"],
    [/\\\n/y, undefined],
    [/\\./y, undefined],
    [/\n/y, undefined],
    [/[ \t]+/y, undefined],
    [/[|;&]+/y, undefined],
    [/[^\s'"|;&$\\]+/y, undefined],
    [/./y, undefined],
  ];
  const tokens: Token[] = [];
  let commandStart = true;
  let position = 0;
  while (position < source.length) {
    for (const [pattern, kind] of rules) {
      pattern.lastIndex = position;
      const match = pattern.exec(source);
      if (!match) continue;
      const text = match[0];
      position += text.length;
      if (text === "\n" || /^[|;&]+$/.test(text)) {
        commandStart = true;
        tokens.push({ text });
      } else if (kind) {
        tokens.push({ text, kind });
        if (kind !== "comment") commandStart = false;
      } else if (/^\s|^\\\n$/.test(text)) {
        tokens.push({ text });
      } else if (commandStart && /^\w+=/.test(text)) {
        // NAME=value: the name as a variable; a command may still follow on the line.
        const name = /^\w+=/.exec(text)![0];
        tokens.push({ text: name, kind: "variable" });
        if (text.length > name.length) tokens.push({ text: text.slice(name.length) });
      } else if (commandStart) {
        tokens.push({ text, kind: "command" });
        commandStart = false;
      } else {
        tokens.push(/^--?\w/.test(text) ? { text, kind: "command" } : { text });
      }
      break;
    }
  }
  return tokens;
}

/** TypeScript through the compiler's scanner, so that strings, comments and keywords are exactly its. */
function typescriptTokens(source: string): Token[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, source);
  const scanned: { text: string; kind: ts.SyntaxKind }[] = [];
  const templateBraces: number[] = [];
  let previous: ts.SyntaxKind | undefined;
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if ((kind === ts.SyntaxKind.SlashToken || kind === ts.SyntaxKind.SlashEqualsToken) && !endsExpression(previous))
      kind = scanner.reScanSlashToken();
    if (kind === ts.SyntaxKind.TemplateHead) templateBraces.push(0);
    else if (kind === ts.SyntaxKind.OpenBraceToken && templateBraces.length) templateBraces[templateBraces.length - 1]!++;
    else if (kind === ts.SyntaxKind.CloseBraceToken && templateBraces.length) {
      if (templateBraces[templateBraces.length - 1] === 0) {
        kind = scanner.reScanTemplateToken(false);
        if (kind === ts.SyntaxKind.TemplateTail) templateBraces.pop();
      } else templateBraces[templateBraces.length - 1]!--;
    }
    scanned.push({ text: scanner.getTokenText(), kind });
    if (!isTrivia(kind)) previous = kind;
  }
  const significant = scanned.map((token, i) => i).filter((i) => !isTrivia(scanned[i]!.kind));
  return scanned.map(({ text, kind }, i) => {
    const at = significant.indexOf(i);
    const before = at > 0 ? scanned[significant[at - 1]!]!.kind : undefined;
    const after = at >= 0 && at + 1 < significant.length ? scanned[significant[at + 1]!]!.kind : undefined;
    return { text, kind: typescriptKind(kind, before, after) };
  });
}

function typescriptKind(kind: ts.SyntaxKind, before: ts.SyntaxKind | undefined, after: ts.SyntaxKind | undefined): Kind | undefined {
  const S = ts.SyntaxKind;
  if (kind === S.SingleLineCommentTrivia || kind === S.MultiLineCommentTrivia) return "comment";
  if (
    [
      S.StringLiteral,
      S.NoSubstitutionTemplateLiteral,
      S.TemplateHead,
      S.TemplateMiddle,
      S.TemplateTail,
      S.RegularExpressionLiteral,
    ].includes(kind)
  )
    return "string";
  if (kind === S.NumericLiteral || kind === S.BigIntLiteral) return "number";
  const word = kind === S.Identifier || (kind >= S.FirstKeyword && kind <= S.LastKeyword);
  if (!word) return undefined;
  if (before === S.DotToken || before === S.QuestionDotToken) return "property";
  if (kind === S.Identifier) return after === S.OpenParenToken ? "function" : undefined;
  return after === S.ColonToken ? undefined : "keyword"; // an object's key may be spelt as a keyword
}

function isTrivia(kind: ts.SyntaxKind): boolean {
  return kind >= ts.SyntaxKind.FirstTriviaToken && kind <= ts.SyntaxKind.LastTriviaToken;
}

/** Whether a `/` after this token divides (else it opens a regular expression). */
function endsExpression(kind: ts.SyntaxKind | undefined): boolean {
  const S = ts.SyntaxKind;
  return (
    kind !== undefined &&
    [S.Identifier, S.NumericLiteral, S.StringLiteral, S.CloseParenToken, S.CloseBracketToken, S.CloseBraceToken, S.ThisKeyword].includes(
      kind,
    )
  );
}

/**
 * Text as HTML, with a reference only where one is needed (`<` before a tag's first letter, `&`
 * before a name): Redoc's reader hands the text beside a reference over in pieces, and drops a
 * piece that is only whitespace.
 */
function escapeHtml(text: string): string {
  return text.replace(/&(?=[\w#])/g, "&amp;").replace(/<(?=[A-Za-z/!?])/g, "&lt;");
}
