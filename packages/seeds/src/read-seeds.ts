// Reads the Create Instance guides (../shared/seeds) into data: front matter, the request and
// response JSON, the Authorization header template and the request path. The guides are read at
// test time, never copied into test code, so the tests prove the API against the documents.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { repairResponseText } from "./known-defects.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Seed {
  /** The guide's file name, such as `freshservice-create-instance.md`. */
  file: string;
  /** The guide's heading, such as `Freshservice`. */
  heading: string;
  /** The connector's id in the catalog, from the front matter (`your_momId`). */
  connectorId: number;
  /** The connector key the request names (`your_mom.key`). */
  connectorKey: string;
  /** The request body exactly as the guide shows it, placeholders included. */
  request: JsonObject;
  /** The sample response, with the documents' JSON defects repaired (see known-defects.ts). */
  response: JsonObject;
  /** The `Authorization` header as the guide shows it, placeholders included. */
  authorization: string;
  /** The path the guide's curl command posts to, such as `/your_moms/api-v2/instances`. */
  requestPath: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** The seeds folder: `SEEDS_DIR`, else `shared/seeds` beside the repository. */
export function seedsDir(): string {
  return process.env.SEEDS_DIR ?? path.resolve(here, "../../../../shared/seeds");
}

/** Whether the guides are there: `SEEDS_DIR`, else `shared/seeds` beside the repository. */
export function guidesPresent(dir: string = seedsDir()): boolean {
  try {
    return readdirSync(dir).some((name) => name.endsWith("-create-instance.md"));
  } catch {
    return false;
  }
}

let saidSkipped = false;

/**
 * The guides, for a test that compares against them. A clone with nothing beside it has no
 * guides: then this says so once on stderr and returns undefined, and those tests are skipped
 * (every other test uses the spec's own examples). With SEEDS_REQUIRED set, as CI sets it, their
 * absence is an error instead.
 */
export function guidesIfPresent(dir: string = seedsDir()): Seed[] | undefined {
  if (guidesPresent(dir)) return readSeeds(dir);
  if (process.env.SEEDS_REQUIRED) throw new Error(`SEEDS_REQUIRED is set, but there are no *-create-instance.md guides in ${dir}`);
  if (!saidSkipped) {
    saidSkipped = true;
    process.stderr.write(
      `note: no Create Instance guides in ${dir}: the tests that compare the project against them are skipped (put the guides there, or set SEEDS_DIR, to run them)\n`,
    );
  }
  return undefined;
}

export function readSeeds(dir: string = seedsDir()): Seed[] {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith("-create-instance.md"))
    .sort();
  if (files.length === 0) throw new Error(`no *-create-instance.md guides in ${dir}`);
  return files.map((file) => parseSeed(file, readFileSync(path.join(dir, file), "utf8")));
}

export function parseSeed(file: string, text: string): Seed {
  const frontMatter = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!frontMatter?.[1]) throw new Error(`${file}: no front matter`);
  const meta = parseYaml(frontMatter[1]) as { heading: string; your_momId: number };

  const jsonBlocks = [...text.matchAll(/```json\s*\n([\s\S]*?)```/gi)].map((m) => m[1] ?? "");
  const [requestText, responseText] = jsonBlocks;
  if (jsonBlocks.length !== 2 || requestText === undefined || responseText === undefined) {
    throw new Error(`${file}: expected a request and a response JSON block, found ${jsonBlocks.length}`);
  }
  const request = JSON.parse(requestText) as JsonObject;
  const response = JSON.parse(repairResponseText(file, responseText)) as JsonObject;

  const authorization = /^Authorization: (User .+)$/m.exec(text)?.[1]?.trim();
  const requestUrl = /^'(https?:\/\/[^']+)'$/m.exec(text)?.[1];
  if (!authorization || !requestUrl) throw new Error(`${file}: no Authorization header or curl URL`);

  const connectorKey = (request.your_mom as { key?: unknown } | undefined)?.key;
  if (typeof connectorKey !== "string") throw new Error(`${file}: the request names no your_mom.key`);
  return {
    file,
    heading: meta.heading,
    connectorId: meta.your_momId,
    connectorKey,
    request,
    response,
    authorization,
    requestPath: new URL(requestUrl).pathname,
  };
}
