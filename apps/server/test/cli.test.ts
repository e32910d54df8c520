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
import { announcedAuthorization, refusedStart, serveCli } from "./cli-process.js";

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

describe("instances-api without a command, or a group without its subcommand", () => {
  // A server started by mistake (as without a command before) would take an ephemeral port and a
  // temporary folder, not port 3000 and ./data.
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], {
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0", DATA_DIR: dataDir() },
      encoding: "utf8",
      timeout: 20_000,
    });
  const accountsUsage = [
    "instances-api accounts create --organization <name>",
    "[--allow-duplicate]",
    "instances-api accounts list ",
    "instances-api accounts rotate --organization-id <id>",
  ];

  // Without a command it used to start a server on port 3000; `accounts` alone said "unknown command".
  it.each([
    [
      [],
      "instances-api: a command is needed (serve starts the server)",
      ["instances-api serve ", ...accountsUsage, "instances-api --version"],
    ],
    [["accounts"], "instances-api: accounts needs a subcommand: create, list or rotate", accountsUsage],
    [
      ["accounts", "remove", "--organization-id", "1"],
      "instances-api: unknown accounts subcommand: remove (it has create, list or rotate)",
      accountsUsage,
    ],
  ])("%j prints what there is on stderr, starts nothing, exit 2", (args, firstLine, lists) => {
    const result = run(...args);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: "" });
    const [said, ...usage] = result.stderr.split("\n");
    expect(said).toBe(firstLine);
    for (const line of lists) expect(usage.join("\n")).toContain(line);
    expect(result.stderr).not.toMatch(/listening|\bat .*\.js:\d+/);
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

  it("creates no default account on a busy port: the next start, on a free port, creates it and shows it (a fixed bug)", async () => {
    const dir = dataDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const refused = refusedStart({ DATA_DIR: dir, PORT: String(port) });
      expect({ status: refused.status, stderr: refused.stderr }).toEqual({
        status: 1,
        stderr: `instances-api: cannot listen on 127.0.0.1:${port}: the port is in use\n`,
      });
      expect(refused.stdout).not.toMatch(/Authorization|default account/);
    } finally {
      taken.close();
    }
    const list = spawnSync(process.execPath, [cli, "accounts", "list"], {
      env: { ...process.env, DATA_DIR: dir },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect({ status: list.status, stderr: list.stderr }).toEqual({ status: 0, stderr: "" });
    expect(JSON.parse(list.stdout)).toEqual({ organizations: [] });

    const started = await serveCli({ DATA_DIR: dir });
    try {
      expect(started.output()).toMatch(/Created the default account \(shown once\)/);
      const response = await fetch(`${started.apiUrl}/instances`, { headers: { Authorization: announcedAuthorization(started.output()) } });
      expect(response.status).toBe(200);
    } finally {
      expect(await started.stop()).toBe(0);
    }
  });

  it("stops the start with one line naming HOST when it is not an address of this machine (192.0.2.1, a documentation address)", () => {
    const result = refusedStart({ DATA_DIR: dataDir(), HOST: "192.0.2.1", PORT: "3000" });
    expect({ status: result.status, stderr: result.stderr }).toEqual({
      status: 1,
      stderr: "instances-api: cannot listen on 192.0.2.1:3000: HOST 192.0.2.1 is not an address of this machine\n",
    });
  });

  // No name is resolved for real: glibc asks the configured name server (not on this machine) even
  // for `.invalid`, so the child's dns.lookup, which the listen calls, answers as getaddrinfo would.
  const failingLookup = (code: string) =>
    "data:text/javascript," +
    encodeURIComponent(
      `import dns from "node:dns";
      dns.lookup = (hostname, options, callback) => {
        const done = typeof options === "function" ? options : callback;
        const error = Object.assign(new Error("getaddrinfo ${code} " + hostname), { code: "${code}", syscall: "getaddrinfo", hostname });
        process.nextTick(done, error);
      };`,
    );

  it.each([
    ["ENOTFOUND", "HOST nowhere.invalid does not resolve (no such name)"],
    ["EAI_AGAIN", "HOST nowhere.invalid could not be resolved (the name server did not answer; try again, or set HOST to an address)"],
  ])("stops the start with one line naming HOST when it does not resolve (%s; it was a stack trace)", (code, reason) => {
    const result = refusedStart({ DATA_DIR: dataDir(), HOST: "nowhere.invalid", PORT: "3000" }, ["--import", failingLookup(code)]);
    expect({ status: result.status, stderr: result.stderr }).toEqual({
      status: 1,
      stderr: `instances-api: cannot listen on nowhere.invalid:3000: ${reason}\n`,
    });
    expect(result.stdout).not.toMatch(/Authorization|default account/);
  });
});
