// The package is ready to publish: `npm publish --dry-run` runs clean and ships exactly the
// compiled modules, their declarations, the README, the LICENSE and package.json. The dry run
// never reaches a network: `--offline` makes npm answer every request from its cache (none is
// needed: the dry run that succeeds here made none), and the registry it names is a closed port
// on the loopback, so a request that slipped through could go nowhere else.
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { compile } from "./compile.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(packageDir, "package.json"), "utf8")) as {
  name: string;
  version: string;
  license: string;
  repository: { type: string; url: string; directory: string };
  exports: Record<string, string | Record<string, string>>;
};
const home = mkdtempSync(path.join(tmpdir(), "instances-api-publish-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

interface DryRun {
  files: string[];
  stderr: string;
}

/** `npm publish --dry-run` in the package, offline, with no user config (so no token) of this machine's. */
async function publishDryRun(): Promise<DryRun> {
  const userconfig = path.join(home, "npmrc");
  writeFileSync(userconfig, "");
  const { stdout, stderr } = await promisify(execFile)(
    "npm",
    ["publish", "--dry-run", "--json", "--offline", "--registry", "http://127.0.0.1:9/", "--userconfig", userconfig],
    { cwd: packageDir, encoding: "utf8", timeout: 60_000, env: { ...process.env, npm_config_cache: path.join(home, "cache") } },
  );
  const report = (JSON.parse(stdout) as Record<string, { files: { path: string }[] }>)[manifest.name];
  if (!report) throw new Error(`npm publish --dry-run reported no ${manifest.name}: ${stdout}`);
  return { files: report.files.map((f) => f.path).sort(), stderr };
}

/** Every module in src/, as the compiled file and its declaration in dist/. */
function compiledSources(dir = "src"): string[] {
  return readdirSync(path.join(packageDir, dir), { withFileTypes: true }).flatMap((entry) => {
    const at = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return compiledSources(at);
    const base = at.replace(/^src\//, "dist/").replace(/\.ts$/, "");
    return entry.name.endsWith(".ts") ? [`${base}.js`, `${base}.d.ts`] : [];
  });
}

const dryRun = publishDryRun();

describe("npm publish --dry-run", () => {
  it("succeeds offline, with no warning but that nobody is logged in", async () => {
    const { stderr } = await dryRun;
    const warnings = stderr.split("\n").filter((line) => /^npm (warn|error)/i.test(line));
    expect(warnings.filter((line) => !/requires you to be logged in/.test(line))).toEqual([]);
    expect(stderr).toContain("(dry-run)");
  });

  it("ships the compiled modules with their declarations, the README, the LICENSE and package.json, nothing else", async () => {
    const { files } = await dryRun;
    expect(files).toEqual(["LICENSE", "README.md", "package.json", ...compiledSources()].sort());
  });

  it("ships no source map, nor a file that points at one", async () => {
    const { files } = await dryRun;
    expect(files.filter((file) => file.endsWith(".map"))).toEqual([]);
    for (const file of files.filter((f) => f.startsWith("dist/"))) {
      expect(readFileSync(path.join(packageDir, file), "utf8"), file).not.toMatch(/sourceMappingURL/);
    }
  });

  it("ships every file its exports name", async () => {
    const { files } = await dryRun;
    const targets = Object.values(manifest.exports).flatMap((target) => (typeof target === "string" ? [target] : Object.values(target)));
    for (const target of targets) expect(files, target).toContain(target.replace(/^\.\//, ""));
  });
});

describe("the shipped declarations", () => {
  // What a user's project compiles: dist/*.d.ts, found through the package's exports (no path
  // mapping to src/), with skipLibCheck off so that an error inside them would show.
  const shipped = { paths: undefined, skipLibCheck: false };
  const program = (configuration: string) => `import { createInstance, createInstancesClient } from "@instances-api/client";
const client = createInstancesClient({ baseUrl: "http://127.0.0.1:3000/your_moms/api-v2", userSecret: "u", organizationSecret: "o" });
export const created = createInstance(client, { your_mom: { key: "freshservice" }, configuration: ${configuration}, name: "Help desk" });
`;

  it("compile in a strict project, and name the missing entry", () => {
    const diagnostics = compile(
      {
        complete: program('{ username: "agent@example.com", password: "s3cret", subdomain: "acme" }'),
        incomplete: program('{ username: "agent@example.com", password: "s3cret" }'),
      },
      shipped,
    );
    expect(diagnostics.complete).toEqual([]);
    expect(diagnostics.incomplete).toHaveLength(1);
    expect(diagnostics.incomplete![0]).toMatch(/Property 'subdomain' is missing/);
  });
});

describe("package.json", () => {
  it("names its repository and the folder it lives in", () => {
    const root = path.resolve(packageDir, "../..");
    const { type, url, directory } = manifest.repository;
    expect([type, directory]).toEqual(["git", path.relative(root, packageDir).split(path.sep).join("/")]);
    expect(url).toMatch(/^git\+https:\/\/.+\.git$/);
  });

  it("has the license its LICENSE file holds, the repository's own (npm packs the package folder's, not the root's)", () => {
    expect(manifest.license).toBe("MIT");
    expect(readFileSync(path.join(packageDir, "LICENSE"), "utf8")).toMatch(/^MIT License\n/);
    expect(readFileSync(path.join(packageDir, "LICENSE"), "utf8")).toBe(readFileSync(path.resolve(packageDir, "../../LICENSE"), "utf8"));
  });
});
