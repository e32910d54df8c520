// The server on PostgreSQL: a bad DATABASE_URL stops the start with a clear message, at once;
// a database that goes away mid-run gives 503s in the Problem shape with Retry-After (for
// authentication and /healthz too), and the server recovers when it is back.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount } from "../../src/accounts/accounts.js";
import { embeddedConfig } from "../../src/config.js";
import { startServer, type RunningServer } from "../../src/server.js";

const cli = fileURLToPath(new URL("../../bin/instances-api.js", import.meta.url));
let cluster: PostgresCluster;

beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(() => cluster.stop());

describe("a bad DATABASE_URL", () => {
  it.each([
    [
      "nothing listens on the port",
      "postgres://postgres@127.0.0.1:1/instances",
      /cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/instances: .*ECONNREFUSED/,
    ],
    [
      "the database does not exist",
      () => cluster.url.replace(/\/instances$/, "/nowhere"),
      /cannot connect to PostgreSQL at .*\/nowhere: database "nowhere" does not exist/,
    ],
    [
      "the password shows in no message",
      "postgres://postgres:hunter2@127.0.0.1:1/instances",
      /postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/instances/,
    ],
  ])("stops the start at once when %s", (_name, url, message) => {
    const started = Date.now();
    const result = spawnSync(process.execPath, [cli, "serve"], {
      env: {
        ...process.env,
        DATABASE_URL: typeof url === "string" ? url : url(),
        PORT: "0",
        DATA_DIR: mkdtempSync(path.join(tmpdir(), "pg-bad-")),
      },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain("hunter2");
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("a database that goes away mid-run", () => {
  it("answers 503 in the Problem shape, then recovers when it is back", async () => {
    let authorization = "";
    const server: RunningServer = await startServer({
      config: embeddedConfig(mkdtempSync(path.join(tmpdir(), "pg-away-")), {
        storage: { kind: "postgres", url: cluster.url },
        logLevel: "silent",
      }),
      announce: (line) => {
        authorization = /Authorization: (.*)$/.exec(line)?.[1] ?? authorization;
      },
    });
    try {
      const create = () =>
        fetch(`${server.apiUrl}/instances`, {
          method: "POST",
          headers: { Authorization: authorization, "Content-Type": "application/json" },
          body: JSON.stringify({ your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "n" }),
        });
      expect((await create()).status).toBe(200);
      const other = await createAccount(server.storage.accounts, "Other");

      await cluster.stopServer();
      const away = await create();
      expect(away.status).toBe(503);
      expect(away.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
      expect(away.headers.get("Retry-After")).toMatch(/^[1-5]$/);
      expect(await away.json()).toMatchObject({ status: 503, type: "urn:instances-api:problem:unavailable" });
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(health.headers.get("Retry-After")).toMatch(/^[1-5]$/);
      // A caller the server has not seen yet needs the database to be authenticated: 503, not 401 or 500.
      const unknownCaller = await fetch(`${server.apiUrl}/instances`, { headers: { Authorization: other.authorization } });
      expect(unknownCaller.status).toBe(503);
      expect(unknownCaller.headers.get("Retry-After")).toMatch(/^[1-5]$/);
      expect(await unknownCaller.json()).toMatchObject({ status: 503, type: "urn:instances-api:problem:unavailable" });

      await cluster.startServer();
      expect((await create()).status).toBe(200);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
