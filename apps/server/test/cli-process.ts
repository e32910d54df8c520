// The built `instances-api` command in a child process, for tests of what a user sees: a server
// that starts (its URL and output), or a start that is refused (exit code and stderr).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const cliPath = fileURLToPath(new URL("../bin/instances-api.js", import.meta.url));

export interface ServingCli {
  child: ChildProcess;
  url: string;
  apiUrl: string;
  output: () => string;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number | null>;
}

/** The child's environment: this one's, with the storage and key settings only as `env` gives them. */
function environment(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...process.env, HOST: "127.0.0.1", PORT: "0", DATABASE_URL: undefined, ENCRYPTION_KEY: undefined, ...env };
}

/** Starts `instances-api serve` on an ephemeral port of 127.0.0.1; resolves once it listens. */
export function serveCli(env: Record<string, string | undefined>): Promise<ServingCli> {
  const child = spawn(process.execPath, [cliPath, "serve"], { env: environment(env), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start:\n${output}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({
          child,
          url,
          apiUrl: `${url}/your_moms/api-v2`,
          output: () => output,
          stop: () => {
            child.kill("SIGTERM");
            return exited;
          },
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

/**
 * Runs `instances-api serve` expecting it not to start: its exit code and output. `nodeArguments`
 * go to node before the command (an `--import` that replaces what the test must not do for real).
 */
export function refusedStart(
  env: Record<string, string | undefined>,
  nodeArguments: string[] = [],
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...nodeArguments, cliPath, "serve"], {
    env: environment(env),
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.status === null) throw new Error(`the server did not stop by itself:\n${result.stdout}${result.stderr}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The default account's Authorization header, as a first start prints it. */
export function announcedAuthorization(output: string): string {
  const authorization = /Authorization: (User \S+, Organization \S+)/.exec(output)?.[1];
  if (!authorization) throw new Error(`no default account in:\n${output}`);
  return authorization;
}
