// Our server as the benches run it: its own process, started through the CLI as an operator starts
// it (NODE_ENV=production, info logs to a pipe nobody reads, a free port on 127.0.0.1), its CPU time
// read from /proc, and accounts added through the CLI on the same data.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
export const cli = path.join(path.dirname(require.resolve("@instances-api/server/package.json")), "bin", "instances-api.js");

/** User and system CPU time of a process so far, in µs (/proc/<pid>/stat: clock ticks of 10 ms). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** `serve` on DATA_DIR `dataDir`, with `env` over the production defaults; `nodeOptions` before the CLI (a profiler). */
export function startServer(dataDir: string, env: Record<string, string>, nodeOptions: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeOptions, cli, "serve"], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: "0", // a free port: other benches may run beside this one
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Lets the child's output flow to nowhere, as a production pipe would. */
export function discardOutput(child: ChildProcess): void {
  child.stdout?.removeAllListeners("data");
  child.stdout?.resume();
  child.stderr?.resume();
}

/** Creates an account per name through the CLI on the same data; their Authorization headers. */
export async function createAccounts(dataDir: string, env: Record<string, string>, names: string[]): Promise<string[]> {
  const headers: string[] = [];
  for (const name of names) {
    const run = spawn(process.execPath, [cli, "accounts", "create", "--organization", name], {
      env: { ...process.env, DATA_DIR: dataDir, ...env },
    });
    let out = "";
    for await (const chunk of run.stdout) out += String(chunk);
    headers.push((JSON.parse(out) as { authorization: string }).authorization);
  }
  return headers;
}
