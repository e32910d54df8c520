// npm run bench: autocannon, in one run and with the same machine state, against
//   1. a bare Express app with the same routes and no validation or database (the ceiling),
//   2. the reference server (SQLite, NODE_ENV=production: response validation off, info logs on),
//   3. Prism mocking the same bundled spec,
// and the reference server on PostgreSQL (a throwaway cluster on loopback), on create, get-by-id
// and list. Prints requests/s, p50/p99 latency and peak RSS, our
// throughput as a ratio of the bare app's and of Prism's, and writes this Node major's section of
// RESULTS.md beside this file (the sections of other Node majors stay as they were).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, tmpdir, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import autocannon from "autocannon";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const base = "/your_moms/api-v2";
const createBody = JSON.stringify({
  your_mom: { key: "freshservice" },
  configuration: { username: "agent@example.com", password: "s3cret-Passw0rd", subdomain: "acme" },
  tags: ["bench"],
  name: "Bench",
});

interface Target {
  name: string;
  start: () => Promise<{ child: ChildProcess; url: string; authorization: string }>;
}

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
}

const ports = { bare: 4101, server: 4102, prism: 4103, postgres: 4104 };
let dataDir = "";
let cluster: PostgresCluster | undefined;

async function startOurServer(port: number, env: Record<string, string>) {
  dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-bench-"));
  const cli = path.join(path.dirname(require.resolve("@instances-api/server/package.json")), "bin", "instances-api.js");
  const child = spawn(process.execPath, [cli, "serve"], {
    env: { ...process.env, NODE_ENV: "production", PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const match = await waitForOutput(child, /Authorization: (User \S+, Organization \S+)[\s\S]*listening on/);
  child.stdout?.removeAllListeners("data");
  child.stdout?.resume(); // keep the log flowing to nowhere, as a production pipe would
  return { child, url: `http://127.0.0.1:${port}`, authorization: match[1]! };
}

const targets: Target[] = [
  {
    name: "bare Express",
    start: async () => {
      const child = spawn(process.execPath, [path.join(here, "bare-app.js"), String(ports.bare)], { stdio: ["ignore", "pipe", "pipe"] });
      await waitForOutput(child, /listening/);
      return { child, url: `http://127.0.0.1:${ports.bare}`, authorization: "none" };
    },
  },
  {
    name: "instances-api (SQLite)",
    start: () => startOurServer(ports.server, {}),
  },
  {
    name: "instances-api (PostgreSQL)",
    start: async () => {
      cluster = await startPostgresCluster();
      return startOurServer(ports.postgres, { DATABASE_URL: cluster.url });
    },
  },
  {
    name: "Prism mock",
    start: async () => {
      const prism = path.join(path.dirname(require.resolve("@stoplight/prism-cli/package.json")), "dist", "index.js");
      const bundle = require.resolve("@instances-api/spec/openapi.json");
      const child = spawn(process.execPath, [prism, "mock", bundle, "-h", "127.0.0.1", "-p", String(ports.prism), "--errors", "false"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      await waitForOutput(child, /Prism is listening/);
      child.stdout?.removeAllListeners("data");
      child.stdout?.resume();
      return { child, url: `http://127.0.0.1:${ports.prism}${base.replace(/.*/, "")}`, authorization: "User bench, Organization bench" };
    },
  },
];

interface Row {
  target: string;
  route: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
}

function peakRss(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb ?? 0) * 1024;
}

async function load(url: string, options: Partial<autocannon.Options>): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: seconds, ...options });
}

async function measure(target: Target): Promise<{ rows: Row[]; rss: number }> {
  const { child, url, authorization } = await target.start();
  const headers = { Authorization: authorization, "Content-Type": "application/json" };
  // Prism serves the paths relative to the spec's server URL, without the base path.
  const api = target.name === "Prism mock" ? url : `${url}${base}`;
  const created = (await (await fetch(`${api}/instances`, { method: "POST", headers, body: createBody })).json()) as { id: number };
  const routes: [string, Partial<autocannon.Options>][] = [
    ["create", { url: `${api}/instances`, method: "POST", headers, body: createBody }],
    ["get-by-id", { url: `${api}/instances/${created.id}`, headers }],
    ["list", { url: `${api}/instances?pageSize=20`, headers }],
  ];
  await load(`${api}/instances/${created.id}`, { headers, duration: 2 }); // warm-up
  const rows: Row[] = [];
  for (const [route, options] of routes) {
    const result = await load(options.url!, options);
    rows.push({
      target: target.name,
      route,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
    });
  }
  const rss = peakRss(child.pid!);
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  return { rows, rss };
}

const started = new Date();
const results: { rows: Row[]; rss: number; name: string }[] = [];
for (const target of targets) {
  process.stdout.write(`bench: ${target.name}...\n`);
  results.push({ name: target.name, ...(await measure(target)) });
}
if (dataDir) rmSync(dataDir, { recursive: true, force: true });
cluster?.stop();

const [bare, ours, postgres, prism] = results as [(typeof results)[0], (typeof results)[0], (typeof results)[0], (typeof results)[0]];
const rps = (of: (typeof results)[0], route: string) => of.rows.find((r) => r.route === route)!.requestsPerSecond;
const lines = [
  "| target | route | requests/s | p50 ms | p99 ms | non-2xx | peak RSS MiB |",
  "|---|---|---:|---:|---:|---:|---:|",
  ...results.flatMap((r) =>
    r.rows.map(
      (row) =>
        `| ${row.target} | ${row.route} | ${row.requestsPerSecond.toFixed(0)} | ${row.p50} | ${row.p99} | ${row.non2xx} | ${(r.rss / 2 ** 20).toFixed(0)} |`,
    ),
  ),
];
const ratios = [
  "| route | ours (SQLite) / bare Express | ours (SQLite) / Prism | ours (PostgreSQL) / bare Express | ours (PostgreSQL) / Prism |",
  "|---|---:|---:|---:|---:|",
  ...["create", "get-by-id", "list"].map(
    (route) =>
      `| ${route} | ${(rps(ours, route) / rps(bare, route)).toFixed(2)} | ${(rps(ours, route) / rps(prism, route)).toFixed(2)} | ${(rps(postgres, route) / rps(bare, route)).toFixed(2)} | ${(rps(postgres, route) / rps(prism, route)).toFixed(2)} |`,
  ),
];
const targetsMet = [
  "SQLite (the embedded default, which the targets are about):",
  `- get-by-id at 50% or more of the bare Express app: ${rps(ours, "get-by-id") / rps(bare, "get-by-id") >= 0.5 ? "met" : "missed"}`,
  ...["create", "get-by-id", "list"].map(
    (route) => `- ${route} at 2x Prism or more: ${rps(ours, route) / rps(prism, route) >= 2 ? "met" : "missed"}`,
  ),
];
const major = process.versions.node.split(".")[0]!;
const section = `## Node ${major}

Made by \`npm run bench\` (tests/bench/src/bench.ts) on ${started.toISOString().slice(0, 10)}: autocannon, ${connections} connections,
${seconds} s per route, every target in its own process on 127.0.0.1, one after the other in one run.
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version} (every target runs on it, Prism included).
Our server runs as users run it in production: \`NODE_ENV=production\` (response validation off,
request validation on), SQLite with \`synchronous=FULL\`, one info log line per request.
The numbers are noisy on a shared machine; compare the ratios, which come from one run.

${lines.join("\n")}

${ratios.join("\n")}

Targets:
${targetsMet.join("\n")}
`;
const resultsFile = path.join(here, "..", "RESULTS.md");
const heading =
  "# Benchmark results\n\nOne section per Node major the project runs on; `npm run bench` rewrites the section of the Node it runs on.\n";
const sections = new Map<string, string>();
try {
  for (const part of readFileSync(resultsFile, "utf8")
    .split(/^(?=## Node \d+$)/m)
    .slice(1))
    sections.set(/^## Node (\d+)/.exec(part)![1]!, part.trimEnd() + "\n");
} catch {
  // no results yet
}
sections.set(major, section);
const newestFirst = [...sections.entries()].sort(([a], [b]) => Number(b) - Number(a)).map(([, text]) => text);
writeFileSync(resultsFile, [heading, ...newestFirst].join("\n"));
console.log(section);
