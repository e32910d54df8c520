// The server as users start it: the built `instances-api serve` in a child process, on an
// ephemeral port of 127.0.0.1, with its log lines (stdout) kept for the test to read.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const cli = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@instances-api/server/package.json")),
  "bin",
  "instances-api.js",
);

export interface SpawnedServer {
  child: ChildProcess;
  url: string;
  apiUrl: string;
  /** The default account's header, when this start created it. */
  authorization: string | undefined;
  output: () => string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
}

export function spawnServer(env: Record<string, string>): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [cli, "serve"], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        const authorization = /Authorization: (User \S+, Organization \S+)/.exec(output)?.[1];
        resolve({ child, url, apiUrl: `${url}/your_moms/api-v2`, authorization, output: () => output, exited });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`the server exited (${code}) before listening:\n${output}`)));
  });
}

/** The child's resident memory, in bytes (Linux). */
export async function residentBytes(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error("no VmRSS in /proc status");
  return Number(kb) * 1024;
}
