// Two replicas on one PostgreSQL database: a token rotated on one stops opening the door on the
// other at once, although that replica let the old token in a moment before (its account part
// cached, its Element part read again for each request).
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let cluster: PostgresCluster;
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  const options = { storage: { kind: "postgres" as const, url: cluster.url }, config: { encryptionKey: randomBytes(32) } };
  a = await startTestServer(options);
  b = await startTestServer({ ...options, authorization: a.authorization });
}, 120_000);
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  cluster?.stop();
});

interface Created {
  id: number;
  token: string;
}

const current = (replica: TestServer, token: string) =>
  replica.api("/instance", { headers: { Authorization: `${replica.authorization}, Element ${token}` } });

describe("a token rotated on one replica", () => {
  it("fails at once on the other, which let it in just before; the new token works there", async () => {
    const created = await a.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "replicated" },
    });
    const { id, token: old } = await body<Created>(created);
    for (let i = 0; i < 3; i++) expect((await current(b, old)).status).toBe(200);

    const rotated = await body<Created>(await a.api(`/instances/${id}/token`, { method: "POST" }));

    const refused = await current(b, old);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toBe('User realm="instances-api"');
    expect((await body<{ message: string }>(refused)).message).toMatch(/Element token is not valid/);
    expect((await current(a, old)).status).toBe(401);
    const fresh = await current(b, rotated.token);
    expect(fresh.status).toBe(200);
    expect(await body(fresh)).toMatchObject({ id, name: "replicated" });
  });
});
