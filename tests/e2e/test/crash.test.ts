// Crash safety: the server (started as users start it) is killed with SIGKILL while several
// clients create instances, then restarted on the same data dir. Every create that got a 2xx is
// there and intact, the database passes its integrity check, and retrying each unanswered request
// with its Idempotency-Key creates no duplicate.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { spawnServer, type SpawnedServer } from "./spawned-server.js";

const clients = 8;
const dirs: string[] = [];
const servers: SpawnedServer[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Attempt {
  name: string;
  key: string;
  body: string;
}

function attempt(client: number, n: number): Attempt {
  const name = `crash-${client}-${n}`;
  const body = JSON.stringify({
    your_mom: { key: "taxify" },
    configuration: { "api.key": `key-${name}`, "event.notification.enabled": "false" },
    // Rows of two shapes: notifications on need a callback URL, which would send events off the machine.
    tags: n % 2 ? ["crash", `c${client}`, "odd"] : ["crash", `c${client}`],
    name,
  });
  return { name, key: `idem-${name}`, body };
}

/** Creates from `clients` loops until the server dies; what got a 200, and what got no answer. */
async function createUntilKilled(server: SpawnedServer, withKeys: boolean) {
  const acknowledged: (Attempt & { id: number })[] = [];
  const unanswered: Attempt[] = [];
  let dead = false;
  const loop = async (client: number) => {
    for (let n = 0; !dead; n++) {
      const a = attempt(client, n);
      const headers: Record<string, string> = { Authorization: server.authorization!, "Content-Type": "application/json" };
      if (withKeys) headers["Idempotency-Key"] = a.key;
      try {
        const response = await fetch(`${server.apiUrl}/instances`, { method: "POST", headers, body: a.body });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`create answered ${response.status}: ${text}`);
        acknowledged.push({ ...a, id: (JSON.parse(text) as { id: number }).id });
      } catch (error) {
        if (!dead && !(error instanceof TypeError)) throw error;
        unanswered.push(a);
        if (!dead) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  };
  const loops = Array.from({ length: clients }, (_, client) => loop(client));
  while (acknowledged.length < 200) await new Promise((resolve) => setTimeout(resolve, 10));
  server.child.kill("SIGKILL");
  await server.exited;
  dead = true;
  await Promise.all(loops);
  return { acknowledged, unanswered };
}

async function listAll(server: SpawnedServer, authorization: string): Promise<{ id: number; name: string }[]> {
  const all: { id: number; name: string }[] = [];
  let query = "?tags=crash&pageSize=500";
  for (;;) {
    const response = await fetch(`${server.apiUrl}/instances${query}`, { headers: { Authorization: authorization } });
    all.push(...((await response.json()) as { id: number; name: string }[]));
    const next = response.headers.get("your_moms-next-page-token");
    if (!next) return all;
    query = `?tags=crash&pageSize=500&nextPage=${next}`;
  }
}

async function stopAndCheckIntegrity(server: SpawnedServer, dataDir: string) {
  server.child.kill("SIGTERM");
  expect(await server.exited).toBe(0);
  const db = new Database(path.join(dataDir, "instances.sqlite"), { readonly: true });
  try {
    expect(db.pragma("integrity_check")).toEqual([{ integrity_check: "ok" }]);
  } finally {
    db.close();
  }
}

/** A server on a new data dir, loaded by the clients until it is killed. */
async function loadThenKill(withKeys: boolean) {
  const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-crash-"));
  dirs.push(dataDir);
  const first = await spawnServer({ DATA_DIR: dataDir });
  servers.push(first);
  return { dataDir, authorization: first.authorization!, ...(await createUntilKilled(first, withKeys)) };
}

describe("kill -9 mid-load", () => {
  it("loses no acknowledged create, and the database passes its integrity check", async () => {
    const { dataDir, authorization, acknowledged, unanswered } = await loadThenKill(false);
    console.log(`crash: ${acknowledged.length} creates acknowledged, ${unanswered.length} unanswered when the server was killed`);

    const second = await spawnServer({ DATA_DIR: dataDir });
    servers.push(second);
    expect(second.authorization).toBeUndefined(); // the same accounts: no new default account
    for (const created of acknowledged) {
      const response = await fetch(`${second.apiUrl}/instances/${created.id}`, { headers: { Authorization: authorization } });
      expect(response.status, created.name).toBe(200);
      const instance = (await response.json()) as {
        name: string;
        tags: string[];
        configuration: Record<string, string>;
        eventsEnabled: boolean;
      };
      const sent = JSON.parse(created.body) as { tags: string[]; configuration: Record<string, string> };
      expect(instance.name).toBe(created.name);
      expect(instance.tags).toEqual(sent.tags);
      expect(instance.configuration["api.key"]).toBe("********");
      expect(instance.eventsEnabled).toBe(sent.configuration["event.notification.enabled"] === "true");
    }
    const names = (await listAll(second, authorization)).map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    for (const created of acknowledged) expect(names).toContain(created.name);
    await stopAndCheckIntegrity(second, dataDir);
  });

  it("with each unanswered request retried under its Idempotency-Key, creates no duplicate", async () => {
    const { dataDir, authorization, acknowledged, unanswered } = await loadThenKill(true);

    const second = await spawnServer({ DATA_DIR: dataDir });
    servers.push(second);
    for (const retry of unanswered) {
      const response = await fetch(`${second.apiUrl}/instances`, {
        method: "POST",
        headers: { Authorization: authorization, "Content-Type": "application/json", "Idempotency-Key": retry.key },
        body: retry.body,
      });
      expect(response.status, retry.name).toBe(200);
    }
    // The acknowledged ones, retried too, answer the first response again.
    for (const created of acknowledged.slice(0, 20)) {
      const response = await fetch(`${second.apiUrl}/instances`, {
        method: "POST",
        headers: { Authorization: authorization, "Content-Type": "application/json", "Idempotency-Key": created.key },
        body: created.body,
      });
      expect(((await response.json()) as { id: number }).id).toBe(created.id);
    }
    const names = (await listAll(second, authorization)).map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.length).toBe(acknowledged.length + unanswered.length);
    console.log(`crash: ${acknowledged.length} acknowledged and ${unanswered.length} retried, ${names.length} instances, no duplicate`);
    await stopAndCheckIntegrity(second, dataDir);
  });
});
