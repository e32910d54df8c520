// A server that runs without cloning, as a CI job would get it: `npm pack -w @instances-api/server`
// at the repository's root, the tarball installed with `npm install <tarball>` into an empty
// folder outside the workspace, then `npx instances-api` there: an account created with the CLI,
// `serve` on 127.0.0.1, and the docs at /docs, the spec at /openapi.json and an authenticated
// request answered. The workspace packages it needs must be inside the tarball: nothing of them
// may come from the registry or from the workspace. Slow (a pack and an install: about a minute
// here). Its pack links staged copies into apps/server/node_modules for a moment, which would pull
// the spec from under tests running beside it, so `npm test` runs it alone, last (test:pack).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const repositoryRoot = path.resolve(path.dirname(require.resolve("@instances-api/server/package.json")), "..", "..");
const workspaceSpec = readFileSync(require.resolve("@instances-api/spec/openapi.json"), "utf8");
const work = mkdtempSync(path.join(tmpdir(), "instances-api-server-pack-"));
const project = path.join(work, "project");
const bundled = ["@instances-api/docs", "@instances-api/spec", "@instances-api/spec-tools"];
let server: ChildProcess | undefined;

afterAll(() => {
  // npx does not pass a signal on to the command it runs: the whole process group is stopped.
  if (server?.pid !== undefined && server.exitCode === null) process.kill(-server.pid, "SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

/**
 * The environment of a user's shell: this one's without what `npm test` set for its own scripts
 * (npm_config_*, npm_package_*, ...), which would make npm in the project act on the workspace.
 */
const userEnvironment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== "INIT_CWD")),
  ...extra,
});

const run = (command: string, args: string[], cwd: string, env = userEnvironment()) =>
  promisify(execFile)(command, args, { cwd, env, encoding: "utf8", timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });

/** Starts `npx instances-api serve` in its own process group; resolves with its URL once it listens. */
function serve(env: NodeJS.ProcessEnv): Promise<{ url: string; exited: Promise<number | null>; output: () => string }> {
  const child = spawn("npx", ["--no-install", "instances-api", "serve"], {
    cwd: project,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  server = child;
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the packed server did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url, exited, output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`the packed server exited (${code}) before listening:\n${output}`)));
  });
}

describe("the packed server", () => {
  it("installs from its tarball into an empty folder and serves the docs, the spec and the API", async () => {
    // The pack, as docs/operations.md says it (its prepack builds what is missing and stages the bundle).
    const packed = await run("npm", ["pack", "-w", "@instances-api/server", "--pack-destination", work, "--json"], repositoryRoot);
    const [manifest] = JSON.parse(packed.stdout) as { filename: string; bundled: string[]; files: { path: string }[] }[];
    expect([...manifest!.bundled].sort()).toEqual(bundled);
    const files = manifest!.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        "bin/instances-api.js",
        "dist/cli.js",
        "node_modules/@instances-api/spec/dist/openapi.json",
        "node_modules/@instances-api/docs/dist/index.html",
        "node_modules/@instances-api/docs/dist/index.html.br",
        "node_modules/@instances-api/docs/dist/index.html.gz",
        "node_modules/@instances-api/docs/dist/index.html.digests.json",
        "node_modules/@instances-api/spec-tools/dist/index.js",
        // npm packs the LICENSE of the package's folder (a copy of the repository's), never the root's.
        "LICENSE",
      ]),
    );
    // Run-time files only: no sources, tests, test doubles (dist/test-support, built for tests/e2e), source maps, build tools,
    // nor a second copy of the bundle.
    expect(files.filter((file) => /(^|\/)(src|test|test-support)\/|\.map$|^dist\/bundled\/|@redocly/.test(file))).toEqual([]);
    // The staging links are gone again: the workspace resolves its packages as before.
    expect(existsSync(path.join(repositoryRoot, "apps", "server", "node_modules", "@instances-api"))).toBe(false);

    mkdirSync(project);
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "ci-job", private: true }));
    // Third-party packages come from npm's cache when it has them (this machine reaches only the registry).
    await run("npm", ["install", path.join(work, manifest!.filename), "--prefer-offline", "--no-audit", "--no-fund"], project);
    const installed = path.join(project, "node_modules", "@instances-api", "server");
    for (const name of bundled) {
      expect(realpathSync(path.join(installed, "node_modules", name)).startsWith(realpathSync(installed))).toBe(true);
    }
    expect(existsSync(path.join(project, "node_modules", "@instances-api", "spec"))).toBe(false); // nothing fetched from the registry
    expect(readFileSync(path.join(installed, "LICENSE"), "utf8")).toBe(readFileSync(path.join(repositoryRoot, "LICENSE"), "utf8"));
    expect(readFileSync(path.join(installed, "node_modules", "@instances-api", "spec", "dist", "openapi.json"), "utf8")).toBe(
      workspaceSpec,
    );

    // npx runs the installed command, not the workspace's.
    expect(realpathSync(path.join(project, "node_modules", ".bin", "instances-api"))).toBe(
      path.join(realpathSync(installed), "bin", "instances-api.js"),
    );

    const dataDir = path.join(work, "data");
    const env = userEnvironment({ DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: "0" });
    const created = await run("npx", ["--no-install", "instances-api", "accounts", "create", "--organization", "CI job"], project, env);
    const account = JSON.parse(created.stdout) as { authorization: string };

    const running = await serve(env);
    // Compressed, though npm extracted the page after its copies (content decides, not file times).
    // fetch undoes the encoding; Content-Length is the copy's.
    for (const encoding of ["br", "gzip"]) {
      const docs = await fetch(`${running.url}/docs/`, { headers: { "Accept-Encoding": encoding } });
      expect(docs.status).toBe(200);
      expect(docs.headers.get("content-type")).toMatch(/^text\/html/);
      expect(docs.headers.get("content-encoding"), encoding).toBe(encoding);
      expect(Number(docs.headers.get("content-length")), encoding).toBeLessThan(1_000_000);
      expect(await docs.text()).toContain("Instances API");
    }
    const spec = await fetch(`${running.url}/openapi.json`);
    expect(spec.status).toBe(200);
    expect(await spec.json()).toEqual(JSON.parse(workspaceSpec));
    const instances = await fetch(`${running.url}/your_moms/api-v2/instances`, { headers: { Authorization: account.authorization } });
    expect(instances.status).toBe(200);
    expect(await instances.json()).toEqual([]);
    expect((await fetch(`${running.url}/your_moms/api-v2/instances`)).status).toBe(401);

    process.kill(-server!.pid!, "SIGTERM");
    await running.exited;
  }, 300_000);
});
