// npm run bench:outbox: what finding due event deliveries costs, on SQLite and on PostgreSQL, with
// the outbox shaped as the issue found it. Each database is filled with rows written straight into
// the schema as it was before migration 9 (so the same script measures a build from before it),
// then opened as the server opens it (the first open applies migration 9, timed); then:
//   - behind a failing head: one instance's head waits an hour for its next attempt and
//     200,000 of its events are queued behind it. A claim finds nothing to send; its time, median.
//   - clean: 1,000 instances with 5 pending each; history and backlogs: the same after 1,000
//     delivered deliveries each (kept 30 days), and 200 instances with 1,000 queued behind a failing
//     head each (the cap). For both, a claim's time, median, then deliveries/s of a store-only
//     drain as the dispatcher runs it (claim up to 16, one organization's at a time round-robin,
//     record each delivered; nothing is sent), for at most 20 s.
// It loads the server's modules from a build (dist/): this workspace's (named BENCH_LABEL), and
// BENCH_BEFORE's if set (an older build's dist folder, named BENCH_BEFORE_LABEL), measured in turn in each of
// BENCH_ROUNDS rounds (3), and reports the medians of the rounds. The modules' shapes are written out
// below. Writes the "Outbox claim" part of this Node major's section of RESULTS.md: the rows of the
// builds measured replace theirs, others stay. For the scale suite (scale-bench.ts):
// BENCH_OUTBOX_DRAINERS drains run at once on the same database, each with its own storage (as
// replicas would, though in one process; 1), BENCH_OUTBOX_STORES picks the stores (SQLite,PostgreSQL),
// and BENCH_OUTBOX_JSON=<file> writes the medians there as JSON instead of RESULTS.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const drainers = Number(process.env.BENCH_OUTBOX_DRAINERS ?? 1);
const storeNames = (process.env.BENCH_OUTBOX_STORES ?? "SQLite,PostgreSQL").split(",");
const jsonFile = process.env.BENCH_OUTBOX_JSON;

interface Claimed {
  id: number;
}
interface Storage {
  events: {
    claimDue(
      owner: string,
      now: number,
      leaseUntil: number,
      limit: number,
      fairness?: { perOrganization: number; skip: number[] },
    ): Promise<Claimed[]>;
    recordAttempt(id: number, owner: string, outcome: Record<string, unknown>): Promise<void>;
  };
  close(): Promise<void>;
}
type StorageConfig = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };
interface Migration {
  version: number;
}
interface Build {
  label: string;
  openStorage: (config: StorageConfig) => Promise<Storage>;
  openSqlite: (file: string, migrations: Migration[]) => { exec(sql: string): void; close(): void };
  sqliteMigrations: Migration[];
  openPostgres: (url: string, migrations: Migration[]) => Promise<{ query(sql: string): Promise<unknown>; end(): Promise<void> }>;
  postgresMigrations: Migration[];
}

/** The modules of the build in `dist`. */
async function build(label: string, dist: string): Promise<Build> {
  const load = async (module: string) => (await import(pathToFileURL(path.join(dist, module)).href)) as Record<string, unknown>;
  return {
    label,
    ...(await load("storage.js")),
    ...(await load("database/sqlite.js")),
    ...(await load("database/sqlite-migrations.js")),
    ...(await load("database/postgres.js")),
    ...(await load("database/postgres-migrations.js")),
  } as unknown as Build;
}
const builds = [
  await build(
    process.env.BENCH_LABEL ?? "this build",
    path.join(path.dirname(require.resolve("@instances-api/server/package.json")), "dist"),
  ),
];
if (process.env.BENCH_BEFORE) builds.push(await build(process.env.BENCH_BEFORE_LABEL ?? "before", path.resolve(process.env.BENCH_BEFORE)));

const now = Date.now();
const hour = 3_600_000;
const day = 24 * hour;
const columns = "organization_id, instance_id, webhook_id, event_type, payload, secret, url, status, attempts, next_attempt_at, created_at";
/** Rows of the numbers 1..count (`i`), in each dialect. */
const numbers = {
  sqlite: (count: number) => `(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count}) SELECT i FROM n)`,
  postgres: (count: number) => `(SELECT i FROM generate_series(1, ${count}) AS i)`,
};
type Dialect = keyof typeof numbers;
/** A delivery row of instance `instance` (of one of 20 organizations), each value an expression. */
const row = (instance: string, webhookId: string, status: string, attempts: string, next: string, created: string) =>
  `SELECT 1 + (${instance}) % 20, ${instance}, 'msg_' || ${webhookId}, 'instance.updated', '{}', 'v1.sealed',
          'https://receiver.invalid/events', '${status}', ${attempts}, CAST(${next} AS BIGINT), CAST(${created} AS BIGINT)`;

/** One instance: a head failing until an hour from now, and 200,000 events queued behind it. */
const behindAFailingHead = (d: Dialect) => [
  `INSERT INTO event_deliveries (${columns}) ${row("1", "'head'", "pending", "3", String(now + hour), String(now - day))}`,
  `INSERT INTO event_deliveries (${columns}) SELECT * FROM (${row("1", "'q' || i", "pending", "0", `${now - day} + i`, `${now - day} + i`)} FROM ${numbers[d](200_000)} AS q) AS queued`,
];

/** 1,000 instances with 5 pending each, and nothing else. */
const clean = (d: Dialect) => [
  `INSERT INTO event_deliveries (${columns}) SELECT * FROM (${row("1 + (i - 1) / 5", "'p' || i", "pending", "0", `${now - 1_000}`, `${now - 1_000}`)} FROM ${numbers[d](5_000)} AS p) AS pending`,
];

/** The same, after 1,000 delivered each; and 200 more instances with a failing head and 999 queued each. */
const historyAndBacklogs = (d: Dialect) => [
  `INSERT INTO event_deliveries (${columns}) SELECT * FROM (${row("1 + (i - 1) / 1000", "'h' || i", "delivered", "1", "NULL", `${now - day} + i`)} FROM ${numbers[d](1_000_000)} AS h) AS history`,
  `INSERT INTO event_deliveries (${columns}) SELECT * FROM (${row("1 + (i - 1) / 5", "'p' || i", "pending", "0", `${now - 1_000}`, `${now - 1_000}`)} FROM ${numbers[d](5_000)} AS p) AS pending`,
  `INSERT INTO event_deliveries (${columns}) SELECT * FROM (${row("2001 + (i - 1) / 1000", "'b' || i", "pending", "CASE WHEN (i - 1) % 1000 = 0 THEN 3 ELSE 0 END", `CASE WHEN (i - 1) % 1000 = 0 THEN ${now + hour} ELSE ${now - 2_000} END`, `${now - 2_000}`)} FROM ${numbers[d](200_000)} AS b) AS backlog`,
];

interface Database {
  name: string;
  dialect: Dialect;
  /** Fills a new database with `statements` in the schema before migration 9; then opens it as `build` does. */
  open(build: Build, statements: string[]): Promise<{ storage: Storage; config: StorageConfig; migrateMs: number }>;
  close(): Promise<void>;
}

function sqliteDatabase(): Database {
  const dir = mkdtempSync(path.join(tmpdir(), "outbox-bench-"));
  let count = 0;
  return {
    name: "SQLite",
    dialect: "sqlite",
    async open(build, statements) {
      const file = path.join(dir, `outbox-${++count}.sqlite`);
      const db = build.openSqlite(
        file,
        build.sqliteMigrations.filter((m) => m.version < 9),
      );
      for (const statement of statements) db.exec(statement);
      db.close();
      const started = performance.now();
      const storage = await build.openStorage({ kind: "sqlite", file });
      const close = async () => (await storage.close(), rmSync(file, { force: true }), rmSync(`${file}-wal`, { force: true }));
      return { storage: { ...storage, close }, config: { kind: "sqlite", file }, migrateMs: performance.now() - started };
    },
    close: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
}

function postgresDatabase(cluster: PostgresCluster): Database {
  let count = 0;
  return {
    name: "PostgreSQL",
    dialect: "postgres",
    async open(build, statements) {
      const name = `outbox_${++count}`;
      await cluster.sql(`CREATE DATABASE ${name}`);
      const url = cluster.url.replace(/\/instances$/, `/${name}`);
      const pool = await build.openPostgres(
        url,
        build.postgresMigrations.filter((m) => m.version < 9),
      );
      for (const statement of statements) await pool.query(statement);
      await pool.query("VACUUM ANALYZE event_deliveries");
      await pool.end();
      const started = performance.now();
      const storage = await build.openStorage({ kind: "postgres", url });
      // Each database is dropped once measured, as each SQLite file is removed.
      return {
        storage: { ...storage, close: async () => (await storage.close(), void (await cluster.sql(`DROP DATABASE ${name}`))) },
        config: { kind: "postgres", url },
        migrateMs: performance.now() - started,
      };
    },
    close: () => Promise.resolve(cluster.stop()),
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const delivered = (attemptAt: number) => ({ attemptAt, status: 204, error: undefined, delivered: true, nextAttemptAt: undefined });
const fairness = { perOrganization: 1, skip: [] };

/**
 * Claims `count` times (at most 20 s of them); each claim's time in ms. Each lease ends as it is
 * taken: the next claim finds the same due heads, and the drain after them all.
 */
async function claimTimes(storage: Storage, count: number): Promise<number[]> {
  const times: number[] = [];
  for (const deadline = performance.now() + 20_000; times.length < count && performance.now() < deadline;) {
    const started = performance.now();
    const at = Date.now();
    await storage.events.claimDue("bench", at, at, 16, fairness);
    times.push(performance.now() - started);
  }
  return times;
}

/**
 * Claims and records as the dispatcher does, until nothing is due or 20 s have passed, with each
 * storage at once (each its own drainer, named apart); deliveries/s of them all.
 */
async function drain(storages: Storage[]): Promise<{ delivered: number; perSecond: number }> {
  let count = 0;
  const started = performance.now();
  const drainer = async (storage: Storage, owner: string) => {
    while (performance.now() - started < 20_000) {
      const at = Date.now();
      const claimed = await storage.events.claimDue(owner, at, at + 60_000, 16, fairness);
      if (claimed.length === 0) break;
      await Promise.all(claimed.map((d) => storage.events.recordAttempt(d.id, owner, delivered(at))));
      count += claimed.length;
    }
  };
  await Promise.all(storages.map((storage, index) => drainer(storage, `drain-${index + 1}`)));
  return { delivered: count, perSecond: count / ((performance.now() - started) / 1000) };
}

/** A claim's times and a drain's rate (by BENCH_OUTBOX_DRAINERS drainers) on a database filled with `statements`, opened by `build`. */
async function claimAndDrain(database: Database, build: Build, statements: string[]) {
  const { storage, config, migrateMs } = await database.open(build, statements);
  const others = await Promise.all(Array.from({ length: drainers - 1 }, () => build.openStorage(config)));
  try {
    return { claims: await claimTimes(storage, 21), drained: await drain([storage, ...others]), migrateMs };
  } finally {
    for (const other of others) await other.close();
    await storage.close();
  }
}

interface Measured {
  nothing: number;
  clean: number;
  shaped: number;
  cleanRate: number;
  shapedRate: number;
  openBehind: number;
  openShaped: number;
}

/** One round of one build on one database: each shape once. */
async function measure(database: Database, build: Build): Promise<Measured> {
  const behind = await database.open(build, behindAFailingHead(database.dialect));
  const nothing = await claimTimes(behind.storage, 21).finally(() => behind.storage.close());
  const plain = await claimAndDrain(database, build, clean(database.dialect));
  const shaped = await claimAndDrain(database, build, historyAndBacklogs(database.dialect));
  return {
    nothing: median(nothing),
    clean: median(plain.claims),
    shaped: median(shaped.claims),
    cleanRate: plain.drained.perSecond,
    shapedRate: shaped.drained.perSecond,
    openBehind: behind.migrateMs / 1000,
    openShaped: shaped.migrateMs / 1000,
  };
}

const lines: string[] = [];
const databases = {
  SQLite: () => Promise.resolve(sqliteDatabase()),
  PostgreSQL: async () => postgresDatabase(await startPostgresCluster()),
};
const json: Record<string, Record<string, number>> = {};
for (const name of storeNames) {
  const database = await databases[name as keyof typeof databases]();
  try {
    const measured = new Map<Build, Measured[]>(builds.map((b) => [b, []]));
    for (let round = 0; round < rounds; round++)
      for (const build of builds) {
        const m = await measure(database, build);
        console.log(database.name, build.label, `round ${round + 1}`, JSON.stringify(m));
        measured.get(build)!.push(m);
      }
    for (const build of builds) {
      const of = measured.get(build)!;
      // The JSON holds this build's medians, never BENCH_BEFORE's.
      if (build === builds[0])
        json[database.name] = Object.fromEntries(
          (Object.keys(of[0]!) as (keyof Measured)[]).map((key) => [key, median(of.map((m) => m[key]))]),
        );
      const med = (key: keyof Measured, digits: number) => median(of.map((m) => m[key])).toFixed(digits);
      lines.push(
        `| ${database.name} | ${build.label} | ${med("nothing", 2)} | ${med("clean", 2)} / ${med("shaped", 2)} | ${med("cleanRate", 0)} / ${med("shapedRate", 0)} | ${med("openBehind", 1)} / ${med("openShaped", 1)} |`,
      );
    }
  } finally {
    await database.close();
  }
}

if (jsonFile) {
  writeFileSync(jsonFile, JSON.stringify({ drainers, rounds, stores: json }));
  process.exit(0);
}
const heading = `### Outbox claim (Node ${process.versions.node.split(".")[0]})`;
const resultsFile = path.join(here, "..", "RESULTS.md");
const text = readFileSync(resultsFile, "utf8");
const start = text.indexOf(heading);
const next = start === -1 ? -1 : text.slice(start + heading.length).search(/\n##+ /);
const before = start === -1 ? "" : text.slice(start, next === -1 ? undefined : start + heading.length + next);
const labels = new Set(builds.map((b) => b.label));
const kept = before
  .split("\n")
  .filter((line) => line.startsWith("| ") && !line.startsWith("| store ") && !labels.has(line.split(" | ")[1]!));
const section = [
  heading,
  "",
  `Made by \`npm run bench:outbox\` (tests/bench/src/outbox-bench.ts) on ${new Date().toISOString().slice(0, 10)}, store only (nothing sent); ${rounds} rounds,`,
  "the builds in turn in each, medians. Behind a failing head: 200,000 queued behind one instance's head, which waits an hour;",
  "a claim finds nothing (ms). Clean: 1,000 instances with 5 pending each. History and backlogs: the same after 1,000 delivered",
  "each, and 200 more instances with 1,000 queued behind a failing head each. For both, a claim of 16 (ms), then deliveries/s",
  "of a drain that claims up to 16, one organization's at a time, and records each delivered (at most 20 s). Open: the first",
  "open of the database behind a failing head / with history and backlogs, which applies migration 9 where the build has it (s).",
  "",
  "| store | build | claim behind a failing head, ms | claim, clean / history and backlogs, ms | deliveries/s, clean / history and backlogs | open, s |",
  "|---|---|---:|---:|---:|---:|",
  ...kept,
  ...lines,
  "",
].join("\n");
const updated =
  start === -1
    ? `${text.trimEnd()}\n\n${section}`
    : `${text.slice(0, start)}${section}${next === -1 ? "" : `\n${text.slice(start + heading.length + next + 1)}`}`;
writeFileSync(resultsFile, updated.endsWith("\n") ? updated : `${updated}\n`);
