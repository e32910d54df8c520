// npm run bench:refresh (and the last step of npm run bench): how many token refreshes a second
// one replica drains. A fake SugarCRM over TLS in its own process (fake-sugar.js); our server
// (NODE_ENV=production, PROVISIONING=live, the fake let through with OUTBOUND_ALLOWED_HOSTS and
// trusted with NODE_EXTRA_CA_CERTS, every refresh setting at its default) on SQLite, then on
// PostgreSQL (a throwaway cluster on the same two cores). For each store,
// BENCH_REFRESH_INSTANCES SugarCRM instances (4,000 by default) are created through the API, spread
// over ten organizations, each provisioned by the fake; then, in each of BENCH_ROUNDS rounds (3),
// each scenario below is run: with the server stopped, the scenario's instances are made due at
// once in the database (as though their tokens had all been issued together), the server is
// started again, and its first BENCH_REFRESH_SECONDS (60) of refreshes, from the first refresh
// grant the fake answers to the last, give the refreshes per second; the server's CPU time (from
// /proc, from the moment it listens) per refresh beside it. The scenarios:
//   - every organization's instances, the vendor answering each grant in 200 ms (a token endpoint
//     across the internet): what a replica's slots allow;
//   - the same, the vendor answering at once: what its CPU and database allow;
//   - one organization's instances, 200 ms: what one tenant's share of the slots allows.
// After each drain the bench checks what the refresher must keep: each refresh granted written
// (the instance valid and no longer due), no claim left once stopped, no refresh token spent twice
// or refused, no password grant. BENCH_PROFILE=<dir> runs each drain under `node --cpu-prof` into
// that folder. Writes the "Refresher" part of this Node major's section of RESULTS.md. For the scale
// suite (scale-bench.ts): BENCH_REFRESH_REPLICAS servers drain together on the same data (1),
// BENCH_REFRESH_SCENARIOS picks scenarios by number (1,2,3), and BENCH_REFRESH_JSON=<file> writes
// the rows there as JSON instead of RESULTS.md.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import Database from "better-sqlite3";
import { stop, waitFor } from "./processes.js";
import { cpuMicros, createAccounts, discardOutput, startServer } from "./server-process.js";
import { writeResultsSection } from "./results-section.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const instances = Number(process.env.BENCH_REFRESH_INSTANCES ?? 4_000);
const organizations = 10;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const windowSeconds = Number(process.env.BENCH_REFRESH_SECONDS ?? 60);
const profileDir = process.env.BENCH_PROFILE;
const storeNames = (process.env.BENCH_REFRESH_STORES ?? "SQLite,PostgreSQL").split(",");
const replicas = Number(process.env.BENCH_REFRESH_REPLICAS ?? 1);
/** Where to write the rows as JSON instead of RESULTS.md (the scale suite's use). */
const jsonFile = process.env.BENCH_REFRESH_JSON;

interface Scenario {
  name: string;
  /** How long the fake vendor takes to answer a grant. */
  grantDelayMs: number;
  /** Which instances are made due: SQL over the instances table. */
  which: string;
}

const allScenarios: Scenario[] = [
  { name: `${organizations} organizations, vendor 200 ms`, grantDelayMs: 200, which: "TRUE" },
  { name: `${organizations} organizations, vendor at once`, grantDelayMs: 0, which: "TRUE" },
  {
    name: "1 organization, vendor 200 ms",
    grantDelayMs: 200,
    which: "organization_id = (SELECT min(organization_id) FROM instances)",
  },
];
/** BENCH_REFRESH_SCENARIOS: which of them, by number from 1 (all by default). */
const scenarios = process.env.BENCH_REFRESH_SCENARIOS
  ? process.env.BENCH_REFRESH_SCENARIOS.split(",").map((n) => allScenarios[Number(n) - 1]!)
  : allScenarios;

interface Vendor {
  child: ChildProcess;
  port: number;
  caFile: string;
}

interface Grants {
  password: number;
  refresh: number;
  refused: number;
  firstRefreshAt: number;
  lastRefreshAt: number;
}

/** Asks the fake vendor's bench routes: its count of grants (DELETE: starts it again), its delay. */
function ask<T>(vendor: Vendor, method: "GET" | "PUT" | "DELETE", path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const asked = request({ host: "127.0.0.1", port: vendor.port, path, method, ca: readFileSync(vendor.caFile) }, (answer) => {
      let text = "";
      answer.on("data", (chunk: Buffer) => (text += chunk.toString()));
      answer.on("end", () => resolve(JSON.parse(text) as T));
    });
    asked.on("error", reject);
    asked.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const grants = (vendor: Vendor, method: "GET" | "DELETE" = "GET") => ask<Grants>(vendor, method, "/bench/grants");

/** Where the server keeps its data, and how the bench reaches it with the server stopped. */
interface Store {
  name: string;
  env: Record<string, string>;
  /** Runs SQL that changes rows; resolves when it is done. */
  run(sql: string): Promise<void>;
  /** One number from a query. */
  count(sql: string): Promise<number>;
  close(): void;
}

function sqliteStore(dataDir: string): Store {
  const file = path.join(dataDir, "instances.sqlite");
  const open = () => new Database(file, { fileMustExist: true });
  return {
    name: "SQLite",
    env: {},
    run: (sql) => {
      const db = open();
      db.exec(sql);
      db.close();
      return Promise.resolve();
    },
    count: (sql) => {
      const db = open();
      const value = db.prepare(sql).pluck().get() as number;
      db.close();
      return Promise.resolve(value);
    },
    close: () => undefined,
  };
}

function postgresStore(cluster: PostgresCluster): Store {
  return {
    name: "PostgreSQL",
    env: { DATABASE_URL: cluster.url },
    run: async (sql) => void (await cluster.sql(sql)),
    count: async (sql) => Number((await cluster.sql(sql)).trim()),
    close: () => cluster.stop(),
  };
}

function startVendorServer(vendor: Vendor, dataDir: string, store: Store, nodeOptions: string[] = []): ChildProcess {
  return startServer(
    dataDir,
    { PROVISIONING: "live", OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${vendor.port}`, NODE_EXTRA_CA_CERTS: vendor.caFile, ...store.env },
    nodeOptions,
  );
}

/** Creates the instances, `parallel` requests at a time, round-robin over the organizations. */
async function createInstances(api: string, vendor: Vendor, authorizations: string[]): Promise<void> {
  let next = 0;
  const body = JSON.stringify({
    your_mom: { key: "sugarcrmv2" },
    configuration: {
      "oauth.api.key": "k",
      "oauth.api.secret": "s",
      "site.url": `127.0.0.1:${vendor.port}`,
      username: "u",
      password: "g00d-Passw0rd",
    },
    name: "Bench CRM",
  });
  const worker = async () => {
    for (let i = next++; i < instances; i = next++) {
      const created = await fetch(`${api}/instances`, {
        method: "POST",
        headers: { Authorization: authorizations[i % authorizations.length]!, "Content-Type": "application/json" },
        body,
      });
      if (created.status !== 200) throw new Error(`an instance was not created: ${await created.text()}`);
      await created.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

interface Drained {
  /** How many were refreshed: all of them, unless the window ended first. */
  refreshed: number;
  perSecond: number;
  cpuMicrosPerRefresh: number;
}

/** One drain: the scenario's refreshes made due, the server started, the drain timed, what it left checked. */
async function drainOnce(vendor: Vendor, dataDir: string, store: Store, scenario: Scenario, round: number): Promise<Drained> {
  const dueAt = Date.now();
  // The others not due for a day: none left from a drain its window cut short.
  await store.run(`UPDATE instances SET refresh_due_at = CASE WHEN ${scenario.which} THEN ${dueAt} ELSE ${dueAt + 86_400_000} END`);
  const due = await store.count(`SELECT count(*) FROM instances WHERE refresh_due_at <= ${dueAt}`);
  await ask(vendor, "PUT", "/bench/grant-delay", { ms: scenario.grantDelayMs });
  await grants(vendor, "DELETE");
  // Every replica at once on the same data, each profiled into its own file when asked.
  const servers = Array.from({ length: replicas }, (_, replica) => {
    const profileName = `refresh-${store.name}-${allScenarios.indexOf(scenario) + 1}-${round}-${replica + 1}.cpuprofile`;
    const profile = profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir, "--cpu-prof-name", profileName] : [];
    return startVendorServer(vendor, dataDir, store, profile);
  });
  const cpuOfServers = () => servers.reduce((sum, server) => sum + cpuMicros(server.pid!), 0);
  try {
    for (const server of servers) {
      await waitFor(server, /listening on/);
      discardOutput(server);
    }
    const cpuBefore = cpuOfServers();
    // Until every instance is refreshed, or the window has passed since the first refresh.
    let counted = await grants(vendor);
    const giveUpAt = Date.now() + 600_000;
    while (counted.refresh + counted.refused < due) {
      const windowEnds = counted.firstRefreshAt ? counted.firstRefreshAt + windowSeconds * 1000 : giveUpAt;
      if (Date.now() > windowEnds) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      counted = await grants(vendor);
    }
    const cpu = cpuOfServers() - cpuBefore;
    await Promise.all(servers.map(stop));
    counted = await grants(vendor);
    if (counted.refresh === 0) throw new Error(`${store.name}: nothing refreshed in 10 minutes`);
    // Each refresh granted was written (valid, no longer due), none twice; a stopped server holds no claim.
    const refreshed = await store.count(
      `SELECT count(*) FROM instances WHERE ${scenario.which} AND refresh_due_at > ${dueAt} AND provisioning LIKE '{"valid":true,%'`,
    );
    const claimed = await store.count("SELECT count(*) FROM instances WHERE refresh_claimed_by IS NOT NULL");
    if (refreshed !== counted.refresh || claimed > 0 || counted.refused > 0 || counted.password > 0)
      throw new Error(
        `${store.name}: ${refreshed} instances refreshed and valid, ${claimed} still claimed; grants ${JSON.stringify(counted)}`,
      );
    const seconds = (counted.lastRefreshAt - counted.firstRefreshAt) / 1000;
    return { refreshed: counted.refresh, perSecond: (counted.refresh - 1) / seconds, cpuMicrosPerRefresh: cpu / counted.refresh };
  } finally {
    await Promise.all(servers.map(stop));
  }
}

async function measure(vendor: Vendor, store: Store, dataDir: string): Promise<Drained[][]> {
  process.stdout.write(`refresh bench: ${store.name}, creating ${instances} instances in ${organizations} organizations...\n`);
  const server = startVendorServer(vendor, dataDir, store);
  try {
    const [, authorization, url] = await waitFor(server, /Authorization: (User \S+, Organization \S+)[\s\S]*listening on (http:\S+) /);
    discardOutput(server);
    const others = Array.from({ length: organizations - 1 }, (_, i) => `bench ${i + 1}`);
    const authorizations = [authorization!, ...(await createAccounts(dataDir, store.env, others))];
    await createInstances(`${url}/your_moms/api-v2`, vendor, authorizations);
  } finally {
    await stop(server);
  }
  // By scenario, then by round.
  const drained: Drained[][] = scenarios.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [index, scenario] of scenarios.entries()) {
      process.stdout.write(`refresh bench: ${store.name}, round ${round} of ${rounds}, ${scenario.name}...\n`);
      const result = await drainOnce(vendor, dataDir, store, scenario, round);
      drained[index]!.push(result);
      process.stdout.write(`  ${result.refreshed} refreshed, ${result.perSecond.toFixed(1)} refreshes/s\n`);
    }
  }
  return drained;
}

const vendorChild = spawn(process.execPath, [path.join(here, "fake-sugar.js")], { stdio: ["ignore", "pipe", "pipe"] });
const [, vendorPort, caFile] = await waitFor(vendorChild, /fake vendor on port (\d+) ca (\S+)/);
const vendor: Vendor = { child: vendorChild, port: Number(vendorPort), caFile: caFile! };
const results: { store: string; runs: Drained[][] }[] = [];
try {
  const opens: Record<string, (dataDir: string) => Promise<Store>> = {
    SQLite: (dataDir) => Promise.resolve(sqliteStore(dataDir)),
    PostgreSQL: async () => postgresStore(await startPostgresCluster()),
  };
  for (const open of storeNames.map((name) => opens[name]!)) {
    const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-bench-refresh-"));
    const store = await open(dataDir);
    try {
      results.push({ store: store.name, runs: await measure(vendor, store, dataDir) });
    } finally {
      store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
} finally {
  await stop(vendorChild);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rows = results.flatMap(({ store, runs }) =>
  scenarios.map((scenario, index) => {
    const of = runs[index]!;
    return {
      store,
      scenario: scenario.name,
      perSecond: median(of.map((r) => r.perSecond)),
      cpu: median(of.map((r) => r.cpuMicrosPerRefresh)),
      every: of.map((r) => r.perSecond.toFixed(0)).join(", "),
    };
  }),
);
if (jsonFile) {
  writeFileSync(jsonFile, JSON.stringify({ replicas, instances, windowSeconds, rounds, rows }));
  process.exit(0);
}
const section = [
  `### Refresher (Node ${process.versions.node.split(".")[0]})`,
  "",
  `Made by \`npm run bench:refresh\` (tests/bench/src/refresh-bench.ts) on ${new Date().toISOString().slice(0, 10)}: ${instances} SugarCRM`,
  `instances in ${organizations} organizations, made due at once and drained by one replica (every refresh setting at its default),`,
  `the first ${windowSeconds} s of each drain timed; a fake SugarCRM over TLS in its own process on 127.0.0.1; ${rounds} rounds, medians.`,
  "",
  "| store | due | refreshes/s | server CPU µs/refresh | every round (refreshes/s) |",
  "|---|---|---:|---:|---|",
  ...rows.map((r) => `| ${r.store} | ${r.scenario} | ${r.perSecond.toFixed(0)} | ${r.cpu.toFixed(0)} | ${r.every} |`),
  "",
  ...rows
    .filter((r) => r.scenario === scenarios[0]!.name)
    .map(
      (r) =>
        `- ${r.store}, ${r.scenario}: 100 refreshes/s per replica or more: ${r.perSecond.toFixed(0)}, ${r.perSecond >= 100 ? "met" : "missed"}`,
    ),
  "",
].join("\n");
process.stdout.write(`${section}\n`);
writeResultsSection(section);
