// The `instances-api` command, as users run it (its bin, which loads the built dist/cli.js, in a
// child process): the Node it needs, `serve` with signals, and `accounts create` while the server
// runs on the same data dir.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../bin/instances-api.js", import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "instances-api-cli-"));
  dirs.push(dir);
  return dir;
}

function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [cli, "serve"], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url, output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on("exit", (code) => resolve(code)));
}

describe("instances-api on an unsupported Node", () => {
  // The child's reported version is replaced before the bin runs: the check reads process.versions.
  const asNode = (version: string) =>
    spawnSync(
      process.execPath,
      ["--import", `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`, cli, "--help"],
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );

  it.each([
    ["20.20.2", false],
    ["22.11.0", false],
    ["22.12.0", true],
    ["24.21.0", true],
  ])("on Node %s starts: %s", (version, starts) => {
    const result = asNode(version);
    if (starts) {
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
      expect(result.stdout).toContain("instances-api serve");
    } else {
      expect(result.status).toBe(2);
      expect(result.stderr).toBe(`instances-api: needs Node 24 (or Node 22.12 and later); this is Node ${version}\n`);
    }
  });
});

// Spawned servers: each start loads the whole server, which takes seconds on a loaded machine.
describe("instances-api serve", { timeout: 120_000 }, () => {
  it("prints the default account once, serves, and stops on SIGTERM after finishing, exit 0", async () => {
    const dir = dataDir();
    const first = await serve({ DATA_DIR: dir });
    const authorization = /Authorization: (User \S+, Organization \S+)/.exec(first.output())?.[1];
    expect(authorization).toBeDefined();
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    const list = await fetch(`${first.url}/your_moms/api-v2/instances`, { headers: { Authorization: authorization! } });
    expect(list.status).toBe(200);

    const done = exited(first.child);
    first.child.kill("SIGTERM");
    expect(await done).toBe(0);
    expect(first.output()).toMatch(/"msg":"stopped"/);

    const second = await serve({ DATA_DIR: dir });
    expect(second.output()).not.toMatch(/Created the default account/);
    const stopped = exited(second.child);
    second.child.kill("SIGINT");
    expect(await stopped).toBe(0);
  });

  it("finishes a request in flight when SIGTERM arrives, then exits 0", async () => {
    const dir = dataDir();
    const running = await serve({ DATA_DIR: dir });
    const authorization = /Authorization: (User \S+, Organization \S+)/.exec(running.output())![1]!;
    const json = JSON.stringify({ your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "in flight" });
    const inFlight = request(`${running.url}/your_moms/api-v2/instances`, {
      method: "POST",
      headers: { Authorization: authorization, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(json) },
    });
    const answered = new Promise<number>((resolve, reject) => {
      inFlight.on("response", (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      inFlight.on("error", reject);
    });
    inFlight.write(json.slice(0, 10)); // the request has started; its body is not all there yet
    await new Promise((resolve) => setTimeout(resolve, 300));
    const done = exited(running.child);
    running.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 300));
    inFlight.end(json.slice(10));
    expect(await answered).toBe(200);
    expect(await done).toBe(0);
  });

  it("fails fast with a clear message on a bad setting", () => {
    const result = spawnSync(process.execPath, [cli, "serve"], {
      env: { ...process.env, PORT: "eighty", DATA_DIR: dataDir() },
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('PORT must be a port number (0-65535), not "eighty"');
  });
});

describe("instances-api accounts create", { timeout: 120_000 }, () => {
  it("prints one JSON object with the secrets and the header, while the server runs", async () => {
    const dir = dataDir();
    const running = await serve({ DATA_DIR: dir });
    const result = spawnSync(process.execPath, [cli, "accounts", "create", "--organization", "Acme"], {
      env: { ...process.env, DATA_DIR: dir },
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const account = JSON.parse(result.stdout) as Record<string, string | number>;
    expect(Object.keys(account).sort()).toEqual([
      "authorization",
      "organization",
      "organizationId",
      "organizationSecret",
      "userId",
      "userSecret",
    ]);
    expect(account.authorization).toBe(`User ${account.userSecret}, Organization ${account.organizationSecret}`);

    const response = await fetch(`${running.url}/your_moms/api-v2/instances`, {
      headers: { Authorization: String(account.authorization) },
    });
    expect(response.status).toBe(200);
  });

  it("says what is missing without --organization", () => {
    const result = spawnSync(process.execPath, [cli, "accounts", "create"], {
      env: { ...process.env, DATA_DIR: dataDir() },
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("accounts create needs --organization <name>");
  });
});

describe("instances-api --version and --help", () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 20_000 });

  it("prints the package's version", () => {
    const { version } = JSON.parse(readFileSync(fileURLToPath(new URL("../package.json", import.meta.url)), "utf8")) as { version: string };
    for (const flag of ["--version", "-v"]) {
      const result = run(flag);
      expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
        status: 0,
        stdout: `${version}\n`,
        stderr: "",
      });
    }
  });

  it.each([
    [["serve", "--help"], "instances-api serve "],
    [["accounts", "--help"], "instances-api accounts create --organization <name>"],
    [["accounts", "create", "--help"], "instances-api accounts create --organization <name>"],
    [["accounts", "list", "--help"], "instances-api accounts list "],
    [["accounts", "rotate", "--help"], "instances-api accounts rotate --organization-id <id>"],
    [["accounts", "--help"], "instances-api accounts rotate --organization-id <id>"],
    [["--help"], "instances-api --version"],
  ])("%j prints the usage on stdout and starts nothing", (args, expected) => {
    const result = run(...args);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(expected);
    expect(result.stderr).toBe("");
  });
});

describe("a port the server cannot listen on", { timeout: 120_000 }, () => {
  it("stops the start with one plain line naming it, exit 1", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const result = spawnSync(process.execPath, [cli, "serve"], {
        env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), DATA_DIR: dataDir() },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(`instances-api: cannot listen on 127.0.0.1:${port}: the port is in use\n`);
    } finally {
      taken.close();
    }
  });
});
