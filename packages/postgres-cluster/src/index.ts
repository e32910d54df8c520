// A throwaway PostgreSQL cluster for tests and the benchmark: initdb into a temporary folder,
// pg_ctl start on a free loopback port with the socket in that folder, one database; stop()
// removes it all. Uses Debian's binaries (/usr/lib/postgresql/<version>/bin, or PG_BIN). initdb
// refuses to run as root, so as root the cluster belongs to the `postgres` user. Stopping,
// starting and running SQL are asynchronous so that a test's load keeps running meanwhile.
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/**
 * How pg_ctl stops the server. `fast`: every session is ended (57P01) and the server shuts down
 * cleanly. `immediate`: the server quits at once without a checkpoint, as in a crash; the next
 * start recovers from the write-ahead log.
 */
export type StopMode = "fast" | "immediate";

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url: string;
  port: number;
  /** Stops the server (a fast shutdown unless told otherwise); it keeps its data for startServer(). */
  stopServer(mode?: StopMode): Promise<void>;
  /** Starts the server again on the same port and data; resolves once it accepts connections. */
  startServer(): Promise<void>;
  /** Runs SQL as the superuser through psql (for example pg_terminate_backend); resolves with its unaligned output. */
  sql(statement: string): Promise<string>;
  /** Stops the server and removes the cluster. */
  stop(): void;
}

function binaries(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "initdb"))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error(
      "No PostgreSQL binaries in /usr/lib/postgresql/*/bin: install Debian's postgresql (apt-get install postgresql), as .ci/run does, or set PG_BIN",
    );
  return path.join(root, newest, "bin");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export async function startPostgresCluster(database = "instances"): Promise<PostgresCluster> {
  const bin = binaries();
  const dir = mkdtempSync(path.join(tmpdir(), "instances-api-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  chmodSync(dir, 0o777);
  const invocation = (command: string, args: string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, command), ...args]] : [path.join(bin, command), args];
  const run = async (command: string, args: string[]) =>
    (await execFileAsync(...invocation(command, args), { encoding: "utf8", cwd: dir })).stdout;
  const port = await freePort();
  await run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100`;
  const startServer = async () =>
    void (await run("pg_ctl", ["-D", data, "-o", options, "-l", path.join(dir, "log"), "-w", "-t", "30", "start"]));
  const stopServer = async (mode: StopMode = "fast") => void (await run("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]));
  const connection = ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres"];
  await startServer();
  await run("createdb", [...connection, database]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${database}`,
    port,
    startServer,
    stopServer,
    sql: (statement) => run("psql", [...connection, "-d", database, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", statement]),
    stop: () => {
      try {
        execFileSync(...invocation("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]), { stdio: "pipe", cwd: dir });
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
