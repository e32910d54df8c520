// Writes one bench's part of RESULTS.md: the part that starts with the same heading is replaced
// (up to the next heading of any level), or, the first time, added at the end.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const resultsFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "RESULTS.md");

/** `section` starts with its heading line. */
export function writeResultsSection(section: string): void {
  const text = readFileSync(resultsFile, "utf8");
  const heading = section.split("\n")[0]!;
  const start = text.indexOf(heading);
  const next = start === -1 ? -1 : text.slice(start + heading.length).search(/\n##+ /);
  const updated =
    start === -1
      ? `${text.trimEnd()}\n\n${section}`
      : `${text.slice(0, start)}${section}${next === -1 ? "" : text.slice(start + heading.length + next + 1)}`;
  writeFileSync(resultsFile, updated.endsWith("\n") ? updated : `${updated}\n`);
}
