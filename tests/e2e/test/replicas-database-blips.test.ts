// Two replicas on one PostgreSQL, under write load from 16 clients, while the database blips:
// every connection is terminated (pg_terminate_backend), then a fast restart, then an immediate
// stop (a crash) and start. Both replicas stay up; every answer is a 200 or a 503 Problem with
// Retry-After (no reset connection, no other 5xx); each replica recovers by itself; every create
// that was acknowledged (200, nothing else) reads back from both replicas afterwards; and a create
// answered 503, retried with its Idempotency-Key, ends up stored exactly once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer, type SpawnedServer } from "./spawned-server.js";

const clients = 16;
let cluster: PostgresCluster;
let replicas: SpawnedServer[] = [];
let authorization: string;
const dirs: string[] = [];

beforeAll(async () => {
  cluster = await startPostgresCluster();
  const env = { DATABASE_URL: cluster.url, ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("base64") };
  const dir = () => {
    const d = mkdtempSync(path.join(tmpdir(), "replica-blip-"));
    dirs.push(d);
    return d;
  };
  replicas = await Promise.all([spawnServer({ ...env, DATA_DIR: dir() }), spawnServer({ ...env, DATA_DIR: dir() })]);
  authorization = replicas.map((r) => r.authorization).find(Boolean)!;
}, 60_000);

afterAll(async () => {
  for (const server of replicas) server.child.kill("SIGTERM");
  await Promise.all(replicas.map((server) => server.exited));
  cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One answer (or a failure to get one), with the phase of the blip it was asked in. */
interface Answer {
  phase: string;
  request: string;
  status?: number;
  contentType?: string | null;
  retryAfter?: string | null;
  problemType?: string;
  failure?: string;
}

/** A create as a client sends it: its body, with a name of its own, and its Idempotency-Key. */
interface Create {
  name: string;
  key: string;
  body: string;
}

const answers: Answer[] = [];
const acknowledged: (Create & { id: number })[] = [];
const unanswered: Create[] = []; // 503s, to retry with their keys once the database is back
let phase = "warm-up";

async function ask(
  server: SpawnedServer,
  request: string,
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; json: unknown } | undefined> {
  const asked = phase;
  try {
    const response = await fetch(url, {
      ...init,
      headers: { Authorization: authorization, "Content-Type": "application/json", ...(init.headers as Record<string, string>) },
    });
    const text = await response.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    answers.push({
      phase: asked,
      request: `${request} on ${server.url}`,
      status: response.status,
      contentType: response.headers.get("Content-Type"),
      retryAfter: response.headers.get("Retry-After"),
      problemType: (json as { type?: string } | undefined)?.type,
    });
    return { status: response.status, json };
  } catch (error) {
    const { cause } = error as { cause?: { code?: string; message?: string } };
    answers.push({
      phase: asked,
      request: `${request} on ${server.url}`,
      failure: `${(error as Error).message}: ${cause?.code ?? cause?.message ?? ""}`,
    });
    return undefined;
  }
}

function newCreate(name: string): Create {
  const body = JSON.stringify({
    your_mom: { key: "freshservice" },
    configuration: { username: "u", password: "p", subdomain: "acme" },
    tags: ["blip"],
    name,
  });
  return { name, key: `key-${name}`, body };
}

const post = (server: SpawnedServer, create: Create) =>
  ask(server, "POST /instances", `${server.apiUrl}/instances`, {
    method: "POST",
    headers: { "Idempotency-Key": create.key },
    body: create.body,
  });

/** A client: creates on one replica, reads what it created back from the other, alternating. */
async function writer(index: number, running: () => boolean): Promise<void> {
  for (let n = 0; running(); n++) {
    const [to, from] = (index + n) % 2 ? [replicas[0]!, replicas[1]!] : [replicas[1]!, replicas[0]!];
    const create = newCreate(`blip-${index}-${n}`);
    const created = await post(to, create);
    if (created?.status === 200) {
      const { id } = created.json as { id: number };
      acknowledged.push({ ...create, id });
      await ask(from, `GET /instances/${id}`, `${from.apiUrl}/instances/${id}`);
    } else {
      if (created?.status === 503) unanswered.push(create);
      await sleep(20); // as a client honouring Retry-After would, though sooner
    }
  }
}

async function healthz(server: SpawnedServer): Promise<Answer> {
  await ask(server, "GET /healthz", `${server.url}/healthz`);
  return answers.at(-1)!;
}

/** Waits until `done()`, or fails after `timeoutMilliseconds`; fails at once if a replica exited. */
async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMilliseconds = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMilliseconds;
  for (;;) {
    const exited = replicas.find((server) => server.child.exitCode !== null);
    if (exited) throw new Error(`a replica exited (${exited.child.exitCode}):\n${exited.output().slice(-3_000)}`);
    if (await done()) return;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMilliseconds} ms: ${what}`);
    await sleep(100);
  }
}

const bothHealthy = async () => (await Promise.all(replicas.map(healthz))).every((answer) => answer.status === 200);

/** Whether each replica has acknowledged a create asked in this phase. */
const bothCreated = (inPhase: string) =>
  replicas.every((server) =>
    answers.some((a) => a.phase === inPhase && a.status === 200 && a.request === `POST /instances on ${server.url}`),
  );

const isUnavailableProblem = (answer: Answer) =>
  answer.status === 503 &&
  /^application\/problem\+json/.test(answer.contentType ?? "") &&
  answer.problemType === "urn:instances-api:problem:unavailable" &&
  /^[1-9]\d*$/.test(answer.retryAfter ?? "");

describe("two replicas on one PostgreSQL whose database blips under write load", () => {
  it("stay up, answer only 200 or a 503 Problem with Retry-After, and lose no acknowledged create", async () => {
    let running = true;
    const load = Array.from({ length: clients }, (_, index) => writer(index, () => running));
    const down: Answer[] = [];
    try {
      await sleep(1_000);

      phase = "terminate every connection";
      for (let round = 0; round < 4; round++) {
        await cluster.sql(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
        );
        await sleep(250);
      }
      phase = "after terminate";
      await until("both replicas create again after every connection was terminated", () => bothCreated("after terminate"));

      phase = "fast restart";
      await cluster.stopServer("fast");
      await sleep(300);
      down.push(...(await Promise.all(replicas.map(healthz))));
      await sleep(700);
      await cluster.startServer();
      phase = "after fast restart";
      await until("both replicas healthy after the fast restart", bothHealthy);
      await until("both replicas create again after the fast restart", () => bothCreated("after fast restart"));

      phase = "immediate stop";
      await cluster.stopServer("immediate");
      await sleep(300);
      down.push(...(await Promise.all(replicas.map(healthz))));
      await sleep(700);
      await cluster.startServer();
      phase = "after immediate restart";
      await until("both replicas healthy after the immediate stop and start", bothHealthy);
      await until("both replicas create again after the immediate stop and start", () => bothCreated("after immediate restart"));
    } finally {
      running = false;
      await Promise.all(load);
    }

    for (const server of replicas) expect(server.child.exitCode, `a replica exited:\n${server.output().slice(-3_000)}`).toBeNull();
    expect(answers.filter((a) => a.failure)).toEqual([]);
    expect(answers.filter((a) => a.status !== 200 && !isUnavailableProblem(a))).toEqual([]);
    // While the database was down, /healthz said so, with Retry-After.
    expect(down.filter((a) => !isUnavailableProblem(a))).toEqual([]);
    // The blips really happened under load: they cost some requests a 503.
    expect(answers.filter((a) => a.status === 503).length).toBeGreaterThan(0);

    // Every acknowledged create reads back from both replicas.
    expect(acknowledged.length).toBeGreaterThan(50);
    const unread: string[] = [];
    const queue = [...acknowledged];
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let create = queue.pop(); create; create = queue.pop()) {
          for (const server of replicas) {
            const response = await fetch(`${server.apiUrl}/instances/${create.id}`, { headers: { Authorization: authorization } });
            const read = (await response.json()) as { name?: string };
            if (response.status !== 200 || read.name !== create.name)
              unread.push(`${create.id} on ${server.url}: ${response.status} ${read.name}`);
          }
        }
      }),
    );
    expect(unread).toEqual([]);

    // A create answered 503 may have committed (its COMMIT cut off in flight): retried with its
    // Idempotency-Key it succeeds, and in the end each create exists exactly once.
    const retries = [...unanswered];
    await Promise.all(
      Array.from({ length: clients }, async (_, index) => {
        for (let create = retries.pop(); create; create = retries.pop()) {
          const retried = await post(replicas[index % 2]!, create);
          expect(retried?.status, `the retry of ${create.name}`).toBe(200);
        }
      }),
    );
    const stored: string[] = [];
    for (let query = "?tags=blip&pageSize=500"; ;) {
      const response = await fetch(`${replicas[0]!.apiUrl}/instances${query}`, { headers: { Authorization: authorization } });
      stored.push(...((await response.json()) as { name: string }[]).map((i) => i.name));
      const next = response.headers.get("your_moms-next-page-token");
      if (!next) break;
      query = `?tags=blip&pageSize=500&nextPage=${next}`;
    }
    expect(stored.sort()).toEqual([...acknowledged, ...unanswered].map((c) => c.name).sort());
  }, 90_000);
});
