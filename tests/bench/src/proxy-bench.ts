// npm run bench (after bench.js): the proxy's cost. In one run, in BENCH_ROUNDS rounds: a fake
// SugarCRM over TLS in its own process (fake-sugar.js), the reference server (SQLite,
// NODE_ENV=production, PROVISIONING=live, the fake let through with OUTBOUND_ALLOWED_HOSTS and
// trusted with NODE_EXTRA_CA_CERTS), and autocannon at 8 connections on
//   - get-by-id (our own read, the yardstick),
//   - the vendor's GET /rest/v10/Contacts called directly (with a token it issued),
//   - the same GET proxied: GET /instances/{id}/proxy/Contacts.
// Targets: the proxied GET at 0.6 of get-by-id's throughput or more, and at most 3 ms added to
// the vendor's own p50. Writes the "Proxy" part of this Node major's section of RESULTS.md.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { stop, waitFor } from "./processes.js";
import { writeResultsSection } from "./results-section.js";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = 8;
const base = "/your_moms/api-v2";

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

async function load(url: string, headers: Record<string, string>): Promise<Measured> {
  const result = await autocannon({ url, connections, duration: seconds, headers });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx + result.errors };
}

async function round(): Promise<Record<"get-by-id" | "vendor direct" | "proxied GET", Measured>> {
  const vendor = spawn(process.execPath, [path.join(here, "fake-sugar.js")], { stdio: ["ignore", "pipe", "pipe"] });
  const [, port, caFile] = await waitFor(vendor, /fake vendor on port (\d+) ca (\S+)/);
  const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-bench-proxy-"));
  const cli = path.join(path.dirname(require.resolve("@instances-api/server/package.json")), "bin", "instances-api.js");
  const server = spawn(process.execPath, [cli, "serve"], {
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: "4110",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      PROVISIONING: "live",
      OUTBOUND_ALLOWED_HOSTS: `127.0.0.1:${port}`,
      NODE_EXTRA_CA_CERTS: caFile,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const [, authorization] = await waitFor(server, /Authorization: (User \S+, Organization \S+)[\s\S]*listening on/);
    server.stdout?.removeAllListeners("data");
    server.stdout?.resume();
    const api = `http://127.0.0.1:4110${base}`;
    const headers = { Authorization: authorization!, "Content-Type": "application/json" };
    const created = await fetch(`${api}/instances`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        your_mom: { key: "sugarcrmv2" },
        configuration: {
          "oauth.api.key": "k",
          "oauth.api.secret": "s",
          "site.url": `127.0.0.1:${port}`,
          username: "u",
          password: "g00d-Passw0rd",
        },
        name: "Bench CRM",
      }),
    });
    if (created.status !== 200) throw new Error(`the bench's instance was not created: ${await created.text()}`);
    const { id } = (await created.json()) as { id: number };
    // The direct calls carry the token the fake vendor takes besides those it grants.
    const token = "bench-direct-token";
    const proxied = `${api}/instances/${id}/proxy/Contacts`;
    await load(proxied, headers); // warm-up: connections opened, code paths hot
    return {
      "get-by-id": await load(`${api}/instances/${id}`, headers),
      "vendor direct": await load(`https://127.0.0.1:${port}/rest/v10/Contacts`, { "OAuth-Token": token }),
      "proxied GET": await load(proxied, headers),
    };
  } finally {
    await stop(server);
    await stop(vendor);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const runs: Awaited<ReturnType<typeof round>>[] = [];
for (let i = 1; i <= rounds; i++) {
  process.stdout.write(`proxy bench: round ${i} of ${rounds}...\n`);
  runs.push(await round());
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const routes = ["get-by-id", "vendor direct", "proxied GET"] as const;
const med = Object.fromEntries(
  routes.map((route) => {
    const of = runs.map((run) => run[route]);
    return [
      route,
      {
        rps: median(of.map((m) => m.rps)),
        p50: median(of.map((m) => m.p50)),
        p99: median(of.map((m) => m.p99)),
        non2xx: of.reduce((s, m) => s + m.non2xx, 0),
      },
    ];
  }),
) as Record<(typeof routes)[number], Measured>;
const share = med["proxied GET"].rps / med["get-by-id"].rps;
const added = med["proxied GET"].p50 - med["vendor direct"].p50;
const section = [
  `### Proxy (Node ${process.versions.node.split(".")[0]})`,
  "",
  `Made by \`npm run bench\` (tests/bench/src/proxy-bench.ts) on ${new Date().toISOString().slice(0, 10)}: autocannon, ${connections} connections,`,
  `${seconds} s per route, ${rounds} rounds, medians; a fake SugarCRM over TLS in its own process on 127.0.0.1, our server`,
  "on SQLite with NODE_ENV=production and PROVISIONING=live.",
  "",
  "| route | requests/s | p50 ms | p99 ms | non-2xx |",
  "|---|---:|---:|---:|---:|",
  ...routes.map((r) => `| ${r} | ${med[r].rps.toFixed(0)} | ${med[r].p50} | ${med[r].p99} | ${med[r].non2xx} |`),
  "",
  `- proxied GET at 0.6 of get-by-id's throughput or more: ${share.toFixed(2)}, ${share >= 0.6 ? "met" : "missed"}`,
  `- at most 3 ms added to the vendor's own p50: ${added} ms, ${added <= 3 ? "met" : "missed"}`,
  "",
].join("\n");
process.stdout.write(`${section}\n`);
writeResultsSection(section);
