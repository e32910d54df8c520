// Every operation has its samples, and a missing one stops the build with a message that says
// which file to add. (The TypeScript samples are compiled by `npm run typecheck`.) The curl
// samples run as pasted into a stock shell: no tool beyond curl and node, the server's URL in one
// variable, no progress meter.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readSamples, samplesDir } from "../src/samples.js";

const sampleFiles = (extension: string) => readdirSync(samplesDir).filter((name) => name.endsWith(extension));
const repository = fileURLToPath(new URL("../../../", import.meta.url));
const api = "http://127.0.0.1:3000/your_moms/api-v2";

/**
 * A curl sample run by bash as pasted, with nothing on PATH but node (stock Debian and Ubuntu have
 * no uuidgen) and curl a function that prints its arguments, one a line.
 */
function curlArguments(sample: string): string[] {
  const bin = mkdtempSync(path.join(tmpdir(), "docs-sample-path-"));
  symlinkSync(process.execPath, path.join(bin, "node"));
  const bash = ["/bin/bash", "/usr/bin/bash"].find((file) => existsSync(file))!;
  const script = `set -eu\ncurl() { printf '%s\\0' "$@"; }\n${sample}\n`;
  return execFileSync(bash, ["--norc", "--noprofile", "-c", script], {
    env: { PATH: bin },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  })
    .split("\0")
    .slice(0, -1);
}

describe("readSamples", () => {
  it("shows the TypeScript sample self-contained, with the client it imports inlined", () => {
    const { typescript, curl } = readSamples("getInstance");
    expect(typescript).toMatch(/^import \{ createInstancesClient \} from "@instances-api\/client";/);
    expect(typescript).toContain("const client = createInstancesClient({");
    expect(typescript).toContain('client.GET("/instances/{id}"');
    expect(curl).toMatch(/^curl -s -i "\$API\/instances\/123"/m);
  });

  it("shows a sample that builds its own client (one with an instance token) as it is, with its Element header in curl", () => {
    const { typescript, curl } = readSamples("getCurrentInstance");
    expect(typescript).toMatch(/^import \{ createInstancesClient \} from "@instances-api\/client";/);
    expect(typescript).toContain('instanceToken: "<INSERT_INSTANCE_TOKEN>"');
    expect(typescript).toContain('.GET("/instance")');
    expect(typescript).not.toContain("./client.js");
    expect(curl).toMatch(/^curl -s -i "\$API\/instance"/m);
    expect(curl).toContain("Element <INSERT_INSTANCE_TOKEN>");
  });

  it("refuses a sample that neither imports the shared client nor builds its own", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "docs-samples-"));
    writeFileSync(path.join(dir, "client.ts"), "export const client = 1;\n");
    writeFileSync(path.join(dir, "getInstance.ts"), "console.log(1);\n");
    writeFileSync(path.join(dir, "getInstance.sh"), "curl x\n");
    expect(() => readSamples("getInstance", dir)).toThrow(/must start with import \{ client \}.*or build its own client/);
  });

  it("names the file to add when a sample is missing", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "docs-samples-"));
    writeFileSync(path.join(dir, "client.ts"), "export const client = 1;\n");
    expect(() => readSamples("listInstances", dir)).toThrow(/no ts sample for listInstances: add .*listInstances\.ts/);
  });

  it("makes a new Idempotency-Key for each create, so that an edited body is not refused as a reuse", () => {
    const { typescript, curl } = readSamples("createInstance");
    const literalUuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    expect(typescript).toContain("crypto.randomUUID()");
    expect(curl).toContain('IDEMPOTENCY_KEY=$(node -e "console.log(crypto.randomUUID())")');
    expect(typescript).not.toMatch(literalUuid);
    expect(curl).not.toMatch(literalUuid);
  });
});

describe("the curl samples", () => {
  it.each(sampleFiles(".sh"))("%s names the server in $API, once, and runs curl with -s (no progress meter) on it", (name) => {
    const source = readFileSync(path.join(samplesDir, name), "utf8");
    expect(source).toMatch(new RegExp(`^API=${api}$`, "m"));
    expect(source).not.toContain("localhost:3000");
    expect(source).not.toContain("uuidgen");
    const curls = source.split("\n").filter((line) => /^\s*curl\b/.test(line));
    expect(curls.length).toBeGreaterThan(0);
    for (const line of curls) expect(line).toMatch(/^curl -s /);
    const args = curlArguments(source);
    expect(args[0]).toBe("-s");
    expect(args.filter((arg) => arg.startsWith(`${api}/`))).toHaveLength(1);
  });

  it("gives each create a new Idempotency-Key on a system without uuidgen (it had none, and the create went unprotected)", () => {
    const source = readFileSync(path.join(samplesDir, "createInstance.sh"), "utf8");
    const key = (args: string[]) => args.find((arg) => arg.startsWith("Idempotency-Key:"));
    const first = key(curlArguments(source));
    const second = key(curlArguments(source));
    expect(first).toMatch(/^Idempotency-Key: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(second).not.toBe(first);
  });

  it.each(sampleFiles(".ts"))("%s calls the server the curl samples name", (name) => {
    const source = readFileSync(path.join(samplesDir, name), "utf8");
    expect(source).not.toContain("localhost:3000");
    if (source.includes("baseUrl")) expect(source).toContain(`baseUrl: "${api}"`);
  });

  it("in the README and docs/ too: curl with -s, and no uuidgen", () => {
    const docs = path.join(repository, "docs");
    const files = [
      path.join(repository, "README.md"),
      ...(existsSync(docs)
        ? readdirSync(docs)
            .filter((name) => name.endsWith(".md"))
            .map((name) => path.join(docs, name))
        : []),
    ];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      expect(text, file).not.toContain("uuidgen");
      for (const line of text.split("\n").filter((line) => /^\s*curl /.test(line))) expect(line, file).toMatch(/^\s*curl -s /);
    }
  });
});
