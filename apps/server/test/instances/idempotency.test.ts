// What a retried create answers over an Idempotency-Key's life: the first answer while the
// instance is as created; the current state without a token once it changed (a rotated token is
// never handed out again); a 409 once it is deleted; and, after the key's time to live, nothing:
// the key is forgotten (and pruned), so it creates anew.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { until } from "../support/until.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedConfig } from "../../src/config.js";
import { startServer } from "../../src/server.js";
import { body, startTestServer, type TestServer } from "../harness.js";

interface Instance {
  id: number;
  name: string;
  token?: string;
}

const taxify = (name: string) => ({ your_mom: { key: "taxify" }, configuration: { "api.key": "secret-api-key" }, name });
let t: TestServer;
beforeAll(async () => (t = await startTestServer()));
afterAll(() => t.stop());

const create = (key: string, name = "kept") =>
  t.api("/instances", { method: "POST", json: taxify(name), headers: { "Idempotency-Key": key } });

describe("a create retried with its Idempotency-Key", () => {
  it("replays the first answer, token included, while the instance is unchanged", async () => {
    const first = await create("unchanged");
    const again = await create("unchanged");
    expect(again.status).toBe(200);
    expect(again.headers.get("ETag")).toBe(first.headers.get("ETag"));
    expect(await body(again)).toEqual(await body(first));
  });

  it("answers the current state without the old token after a token rotation", async () => {
    const first = await body<Instance>(await create("rotated"));
    const rotated = await body<Instance>(await t.api(`/instances/${first.id}/token`, { method: "POST" }));
    expect(rotated.token).not.toBe(first.token);

    const again = await create("rotated");
    expect(again.status).toBe(200);
    const replayed = await body<Instance>(again);
    expect(replayed).not.toHaveProperty("token");
    expect(JSON.stringify(replayed)).not.toContain(first.token!);
    const current = await t.api(`/instances/${first.id}`);
    expect(again.headers.get("ETag")).toBe(current.headers.get("ETag"));
    expect(replayed).toEqual(await body(current));
  });

  it("answers the current state after any other change too, never the first answer's stale name", async () => {
    const first = await body<Instance>(await create("renamed"));
    expect((await t.api(`/instances/${first.id}`, { method: "PATCH", json: { name: "renamed since" } })).status).toBe(200);
    const replayed = await body<Instance>(await create("renamed"));
    expect(replayed.name).toBe("renamed since");
    expect(replayed).not.toHaveProperty("token");
  });

  it("is a 409 Problem that says so once the instance was deleted", async () => {
    const first = await body<Instance>(await create("deleted"));
    expect((await t.api(`/instances/${first.id}`, { method: "DELETE" })).status).toBe(204);
    const again = await create("deleted");
    expect(again.status).toBe(409);
    expect(again.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
    const problem = await body(again);
    expect(problem).toMatchObject({ status: 409, type: "urn:instances-api:problem:idempotent-instance-deleted", instanceId: first.id });
    expect(problem.message).toContain(`instance ${first.id}, which has been deleted since`);
    expect(JSON.stringify(problem)).not.toContain(first.token!);
    // Nothing was created by the retry.
    expect((await body<Instance[]>(await t.api("/instances"))).some((i) => i.id > first.id && i.name === "kept")).toBe(false);
  });
});

describe("an Idempotency-Key past its time to live", () => {
  it("is forgotten, so a new body under it creates, and the expired keys are pruned", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "idempotency-ttl-"));
    let authorization = "";
    const server = await startServer({
      // 3 s, not 1: on a loaded machine the second request below came more than 1 s after the first.
      config: embeddedConfig(dataDir, { idempotencyKeyTtlSeconds: 3, logLevel: "silent" }),
      announce: (line) => (authorization = /Authorization: (.*)$/.exec(line)?.[1] ?? ""),
    });
    try {
      const post = (key: string, name: string) =>
        fetch(`${server.apiUrl}/instances`, {
          method: "POST",
          headers: { Authorization: authorization, "Content-Type": "application/json", "Idempotency-Key": key },
          body: JSON.stringify(taxify(name)),
        });
      const first = await body<Instance>(await post("short-lived", "first"));
      expect((await post("short-lived", "another body")).status).toBe(422); // still remembered
      await post("left-alone", "pruned");

      await new Promise((resolve) => setTimeout(resolve, 3_600));
      const second = await post("short-lived", "another body");
      expect(second.status).toBe(200);
      expect((await body<Instance>(second)).id).not.toBe(first.id);

      // The pruner (every half time to live here) removes the key nobody came back for, before the
      // new "short-lived" key expires in turn.
      const keys = () => {
        const db = new Database(path.join(dataDir, "instances.sqlite"), { readonly: true });
        try {
          return db.prepare("SELECT key FROM idempotency_keys ORDER BY key").pluck().all();
        } finally {
          db.close();
        }
      };
      expect(await until(() => (keys().length === 1 ? keys() : undefined), 2.5)).toEqual(["short-lived"]);
    } finally {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
