// npm run bench: autocannon, in one run and with the same machine state, against
//   1. a bare Express app with the same routes and no validation or database (the ceiling),
//   2. the validator's floor: Express + express-openapi-validator on our bundle, constant bodies
//      (the bytes our server answered),
//   3. the reference server (SQLite, NODE_ENV=production: response validation off, info logs on),
//   4. the reference server on PostgreSQL (a throwaway cluster on loopback),
//   5. Prism mocking the same bundled spec,
// on create, get-by-id, list (one instance a page: the page Prism's answer holds) and list-20 (a
// page of 20; Prism still answers one), in BENCH_ROUNDS rounds (3 by default; each round runs every
// target once). Prints the medians of the rounds (requests/s, p50/p99 latency, bytes per answer,
// the server's CPU time per request from /proc) and the peak RSS,
// our throughput as a ratio of the others', and writes this Node major's section of RESULTS.md
// beside this file (the sections of other Node majors stay as they were). BENCH_SOAK=<minutes>
// then loads our server with random ids for that long and records its RSS minute by minute.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const soakMinutes = Number(process.env.BENCH_SOAK ?? 0);
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

const ports = { bare: 4101, server: 4102, prism: 4103, postgres: 4104, floor: 4105, before: 4106 };
const before = process.env.BENCH_BEFORE
  ? { name: `instances-api (SQLite, ${process.env.BENCH_BEFORE_LABEL ?? "before"})`, dist: process.env.BENCH_BEFORE }
  : undefined;
// Our server's answers, captured in the first round, for the floor to send as constants.
const bodiesFile = path.join(mkdtempSync(path.join(tmpdir(), "instances-api-bench-bodies-")), "bodies.json");
let dataDir = "";
let cluster: PostgresCluster | undefined;

async function startOurServer(
  port: number,
  env: Record<string, string>,
  cli = path.join(path.dirname(require.resolve("@instances-api/server/package.json")), "bin", "instances-api.js"),
) {
  dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-bench-"));
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
    name: "instances-api (SQLite)",
    start: () => startOurServer(ports.server, {}),
  },
  // BENCH_BEFORE: an older build's dist folder, measured in turn beside this one, as BENCH_BEFORE_LABEL.
  ...(before ? [{ name: before.name, start: () => startOurServer(ports.before, {}, path.join(path.resolve(before.dist), "cli.js")) }] : []),
  {
    name: "validator floor",
    start: async () => {
      const child = spawn(process.execPath, [path.join(here, "floor-app.js"), String(ports.floor), bodiesFile], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      await waitForOutput(child, /listening/);
      return { child, url: `http://127.0.0.1:${ports.floor}`, authorization: "User bench, Organization bench" };
    },
  },
  {
    name: "bare Express",
    start: async () => {
      const child = spawn(process.execPath, [path.join(here, "bare-app.js"), String(ports.bare)], { stdio: ["ignore", "pipe", "pipe"] });
      await waitForOutput(child, /listening/);
      return { child, url: `http://127.0.0.1:${ports.bare}`, authorization: "none" };
    },
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
  /** Response bytes (headers and body) per request. */
  bytes: number;
  /** The server process's CPU time (user and system, from /proc) per request, in µs. */
  cpuMicros: number;
}

/** User and system CPU time of a process so far, in µs (/proc/<pid>/stat: clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
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
  const createdText = await (await fetch(`${api}/instances`, { method: "POST", headers, body: createBody })).text();
  const created = JSON.parse(createdText) as { id: number };
  if (target.name === "instances-api (SQLite)" && !existsSync(bodiesFile)) {
    const answer = (url: string) => fetch(url, { headers }).then((r) => r.text());
    const bodies = {
      create: createdText,
      get: await answer(`${api}/instances/${created.id}`),
      list: await answer(`${api}/instances?pageSize=1`),
      list20: await answer(`${api}/instances?pageSize=20`),
    };
    writeFileSync(bodiesFile, JSON.stringify(bodies));
  }
  const routes: [string, Partial<autocannon.Options>][] = [
    ["create", { url: `${api}/instances`, method: "POST", headers, body: createBody }],
    ["get-by-id", { url: `${api}/instances/${created.id}`, headers }],
    ["list", { url: `${api}/instances?pageSize=1`, headers }],
    ["list-20", { url: `${api}/instances?pageSize=20`, headers }],
  ];
  await load(`${api}/instances/${created.id}`, { headers, duration: 2 }); // warm-up
  const rows: Row[] = [];
  for (const [route, options] of routes) {
    const cpuBefore = cpuMicros(child.pid!);
    const result = await load(options.url!, options);
    const cpu = cpuMicros(child.pid!) - cpuBefore;
    rows.push({
      target: target.name,
      route,
      requestsPerSecond: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      non2xx: result.non2xx + result.errors,
      bytes: result.throughput.total / Math.max(1, result.requests.total),
      cpuMicros: cpu / Math.max(1, result.requests.total),
    });
  }
  const rss = peakRss(child.pid!);
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  return { rows, rss };
}

/**
 * Our server under get-by-id load on random ids (1,000 instances) for `minutes`, its RSS read at
 * the end of each minute: the memory it settles at, or a leak.
 */
async function soakTest(minutes: number) {
  process.stdout.write(`bench: soak, ${minutes} min...\n`);
  const { child, url, authorization } = await startOurServer(ports.server, {});
  const headers = { Authorization: authorization, "Content-Type": "application/json" };
  const ids: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const created = await fetch(`${url}${base}/instances`, { method: "POST", headers, body: createBody });
    ids.push(((await created.json()) as { id: number }).id);
  }
  const rssMiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  const samples: number[] = [];
  for (let minute = 1; minute <= minutes; minute++) {
    await autocannon({
      url,
      connections,
      duration: 60,
      requests: [
        {
          method: "GET",
          headers,
          setupRequest: (request) => ({ ...request, path: `${base}/instances/${ids[Math.floor(Math.random() * ids.length)]}` }),
        },
      ],
    });
    samples.push(Math.round(rssMiB()));
  }
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  rmSync(dataDir, { recursive: true, force: true });
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const change = (last - first) / first;
  return {
    minutes,
    samples,
    first,
    last,
    growth: `${change >= 0 ? "+" : ""}${(100 * change).toFixed(1)}%`,
    plateaus: Math.abs(change) <= 0.1,
  };
}

const started = new Date();
const measured = new Map<string, { rows: Row[]; rss: number }[]>();
for (let round = 1; round <= rounds; round++) {
  for (const target of targets) {
    process.stdout.write(`bench: round ${round} of ${rounds}, ${target.name}...\n`);
    const result = await measure(target);
    measured.set(target.name, [...(measured.get(target.name) ?? []), result]);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    cluster?.stop();
    cluster = undefined;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
/** Per target, per route: the median of the rounds; RSS: the highest peak of any round. */
const results = targets.map(({ name }) => {
  const runs = measured.get(name)!;
  const rows = runs[0]!.rows.map(({ route }) => {
    const of = runs.map((run) => run.rows.find((r) => r.route === route)!);
    return {
      target: name,
      route,
      requestsPerSecond: median(of.map((r) => r.requestsPerSecond)),
      p50: median(of.map((r) => r.p50)),
      p99: median(of.map((r) => r.p99)),
      non2xx: of.reduce((sum, r) => sum + r.non2xx, 0),
      bytes: median(of.map((r) => r.bytes)),
      cpuMicros: median(of.map((r) => r.cpuMicros)),
    };
  });
  return { name, rows, rss: Math.max(...runs.map((run) => run.rss)) };
});
const soak = soakMinutes > 0 ? await soakTest(soakMinutes) : undefined;
rmSync(path.dirname(bodiesFile), { recursive: true, force: true });

const byName = (name: string) => results.find((r) => r.name === name)!;
const [ours, floor, bare, postgres, prism] = [
  "instances-api (SQLite)",
  "validator floor",
  "bare Express",
  "instances-api (PostgreSQL)",
  "Prism mock",
].map(byName) as [(typeof results)[0], (typeof results)[0], (typeof results)[0], (typeof results)[0], (typeof results)[0]];
const rps = (of: (typeof results)[0], route: string) => of.rows.find((r) => r.route === route)!.requestsPerSecond;
const lines = [
  "| target | route | requests/s | p50 ms | p99 ms | non-2xx | bytes/answer | server CPU µs/request | peak RSS MiB |",
  "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ...results.flatMap((r) =>
    r.rows.map(
      (row) =>
        `| ${row.target} | ${row.route} | ${row.requestsPerSecond.toFixed(0)} | ${row.p50} | ${row.p99} | ${row.non2xx} | ${row.bytes.toFixed(0)} | ${row.cpuMicros.toFixed(0)} | ${(r.rss / 2 ** 20).toFixed(0)} |`,
    ),
  ),
];
const ratio = (a: (typeof results)[0], b: (typeof results)[0], route: string) => (rps(a, route) / rps(b, route)).toFixed(2);
const ratios = [
  "| route | ours (SQLite) / validator floor | ours (SQLite) / bare Express | ours (SQLite) / Prism | ours (PostgreSQL) / bare Express | ours (PostgreSQL) / Prism |",
  "|---|---:|---:|---:|---:|---:|",
  ...["create", "get-by-id", "list", "list-20"].map(
    (route) =>
      `| ${route} | ${ratio(ours, floor, route)} | ${ratio(ours, bare, route)} | ${ratio(ours, prism, route)} | ${ratio(postgres, bare, route)} | ${ratio(postgres, prism, route)} |`,
  ),
];
const p99At = (of: (typeof results)[0], route: string) => of.rows.find((r) => r.route === route)!.p99;
const targetsMet = [
  "SQLite (the embedded default, which the targets are about):",
  `- get-by-id at 0.8 of the validator's floor or more: ${rps(ours, "get-by-id") / rps(floor, "get-by-id") >= 0.8 ? "met" : "missed"}`,
  ...["create", "get-by-id", "list"].map(
    (route) =>
      `- ${route}${route === "list" ? " (one instance a page, as Prism's answer holds)" : ""} at 2x Prism or more: ${rps(ours, route) / rps(prism, route) >= 2 ? "met" : "missed"}`,
  ),
  `- p99 at ${connections} connections: create ${p99At(ours, "create")} ms, get-by-id ${p99At(ours, "get-by-id")} ms, list ${p99At(ours, "list")} ms, list-20 ${p99At(ours, "list-20")} ms`,
  ...(before
    ? [
        `- ${before.name}, in the same run: get-by-id ${(rps(byName(before.name), "get-by-id") / rps(floor, "get-by-id")).toFixed(2)} of the validator's floor, create ${(rps(byName(before.name), "create") / rps(prism, "create")).toFixed(2)}x Prism`,
      ]
    : []),
  soak
    ? `- RSS under ${soak.minutes} min of get-by-id load on random ids: minute 1 ${soak.first} MiB, minute ${soak.minutes} ${soak.last} MiB (${soak.growth}; every minute: ${soak.samples.join(", ")} MiB): ${soak.plateaus ? "plateaus (within 10%)" : "grew more than 10%"}`
    : "- RSS plateau: not measured in this run (BENCH_SOAK=10 measures it)",
];
const major = process.versions.node.split(".")[0]!;
const section = `## Node ${major}

Made by \`npm run bench\` (tests/bench/src/bench.ts) on ${started.toISOString().slice(0, 10)}: autocannon, ${connections} connections,
${seconds} s per route, every target in its own process on 127.0.0.1, one after the other, in ${rounds} rounds in one
run; each number is the median of the rounds (peak RSS: the highest of them).
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version} (every target runs on it, Prism included).
Our server runs as users run it in production: \`NODE_ENV=production\` (response validation off,
request validation on), SQLite with \`synchronous=FULL\`, one info log line per request.
The numbers are noisy on a shared machine; compare the ratios, which come from one run.
\`list\` asks for one instance a page, the page Prism's answer holds (its list example has one
instance); \`list-20\` asks for 20 (Prism still answers one: compare the bytes per answer).

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
