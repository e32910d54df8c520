// Two replicas of the server on one PostgreSQL, with requests interleaved between them: ids are
// unique, a write on one is read on the other, of two PATCHes with the same If-Match exactly one
// wins, an Idempotency-Key retried on the other replica creates nothing new, and paging across
// both neither skips nor repeats.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer, type SpawnedServer } from "./spawned-server.js";

let cluster: PostgresCluster;
let a: SpawnedServer;
let b: SpawnedServer;
let authorization: string;
const dirs: string[] = [];

beforeAll(async () => {
  cluster = await startPostgresCluster();
  // One encryption key for both replicas: each must open what the other sealed.
  const env = { DATABASE_URL: cluster.url, ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") };
  const dir = () => {
    const d = mkdtempSync(path.join(tmpdir(), "replica-"));
    dirs.push(d);
    return d;
  };
  [a, b] = await Promise.all([spawnServer({ ...env, DATA_DIR: dir() }), spawnServer({ ...env, DATA_DIR: dir() })]);
  const announced = [a.authorization, b.authorization].filter(Boolean);
  expect(announced).toHaveLength(1); // started together on an empty database: one default account
  authorization = announced[0]!;
}, 60_000);

afterAll(async () => {
  for (const server of [a, b]) server?.child.kill("SIGTERM");
  await Promise.all([a?.exited, b?.exited]);
  cluster?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const call = (server: SpawnedServer, apiPath: string, init: RequestInit = {}) =>
  fetch(`${server.apiUrl}${apiPath}`, {
    ...init,
    headers: { Authorization: authorization, "Content-Type": "application/json", ...(init.headers as Record<string, string>) },
  });

const body = (name: string) =>
  JSON.stringify({
    your_mom: { key: "freshservice" },
    configuration: { username: "u", password: "p", subdomain: "acme" },
    tags: ["replicas"],
    name,
  });

describe("two replicas on one PostgreSQL", () => {
  it("give unique ids to creates interleaved between them", async () => {
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call(i % 2 ? a : b, "/instances", { method: "POST", body: body(`r${i}`) })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(200));
    const ids = await Promise.all(responses.map(async (r) => ((await r.json()) as { id: number }).id));
    expect(new Set(ids).size).toBe(30);
  });

  it("read on one what was written on the other, secrets included", async () => {
    const created = (await (await call(a, "/instances", { method: "POST", body: body("cross") })).json()) as { id: number };
    const patched = await call(b, `/instances/${created.id}`, {
      method: "PATCH",
      body: JSON.stringify({ name: "patched on b", configuration: { password: "new" } }),
    });
    expect(patched.status).toBe(200);
    const read = (await (await call(a, `/instances/${created.id}`)).json()) as { name: string; configuration: Record<string, string> };
    expect(read.name).toBe("patched on b");
    expect(read.configuration.password).toBe("********");
  });

  it("let exactly one of two PATCHes with the same If-Match win", async () => {
    for (let round = 0; round < 5; round++) {
      const created = await call(a, "/instances", { method: "POST", body: body(`race${round}`) });
      const { id } = (await created.json()) as { id: number };
      const etag = created.headers.get("ETag")!;
      const patches = await Promise.all(
        [a, b].map((server, i) =>
          call(server, `/instances/${id}`, {
            method: "PATCH",
            headers: { "If-Match": etag },
            body: JSON.stringify({ name: `winner ${i}` }),
          }),
        ),
      );
      expect(patches.map((p) => p.status).sort()).toEqual([200, 412]);
    }
  });

  it("create nothing new when an Idempotency-Key is retried on the other replica", async () => {
    const headers = { "Idempotency-Key": "replica-key" };
    const first = await call(a, "/instances", { method: "POST", headers, body: body("once") });
    const retried = await call(b, "/instances", { method: "POST", headers, body: body("once") });
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual(await first.json());
    const concurrent = await Promise.all(
      [a, b, a, b].map((server) =>
        call(server, "/instances", { method: "POST", headers: { "Idempotency-Key": "replica-race" }, body: body("race once") }),
      ),
    );
    const ids = await Promise.all(concurrent.map(async (r) => ((await r.json()) as { id: number }).id));
    expect(new Set(ids).size).toBe(1);
    const all = (await (await call(a, "/instances?tags=replicas&pageSize=500")).json()) as { name: string }[];
    expect(all.filter((i) => i.name === "once")).toHaveLength(1);
    expect(all.filter((i) => i.name === "race once")).toHaveLength(1);
  });

  it("page consistently across both", async () => {
    const expected = ((await (await call(a, "/instances?tags=replicas&pageSize=500")).json()) as { id: number }[]).map((i) => i.id);
    const seen: number[] = [];
    let query = "?tags=replicas&pageSize=7";
    for (let page = 0; ; page++) {
      const response = await call(page % 2 ? a : b, `/instances${query}`);
      seen.push(...((await response.json()) as { id: number }[]).map((i) => i.id));
      const next = response.headers.get("your_moms-next-page-token");
      if (!next) break;
      query = `?tags=replicas&pageSize=7&nextPage=${next}`;
    }
    expect(seen).toEqual(expected);
  });
});
