// Organizations are isolated: another organization's instance is 404 (never 403) on every
// operation, and never in a list.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const json = { your_mom: { key: "taxify" }, configuration: { "api.key": "alpha-secret-key" }, tags: ["shared-tag"], name: "alpha's" };

describe("two organizations", () => {
  it("cannot see or touch each other's instances", async () => {
    const alpha = await t.newAccount("alpha");
    const beta = await t.newAccount("beta");
    const asAlpha = { Authorization: alpha.authorization };
    const asBeta = { Authorization: beta.authorization };
    const created = await body<{ id: number }>(await t.api("/instances", { method: "POST", json, headers: asAlpha }));

    const attempts: [string, RequestInit & { json?: unknown }][] = [
      [`/instances/${created.id}`, {}],
      [`/instances/${created.id}`, { method: "PATCH", json: { name: "mine now" } }],
      [`/instances/${created.id}`, { method: "PUT", json }],
      [`/instances/${created.id}/token`, { method: "POST" }],
      [`/instances/${created.id}`, { method: "DELETE" }],
    ];
    for (const [path, init] of attempts) {
      const response = await t.api(path, { ...init, headers: asBeta });
      expect(response.status, `${init.method ?? "GET"} ${path}`).toBe(404);
    }
    expect(await body(await t.api("/instances?tags=shared-tag", { headers: asBeta }))).toEqual([]);
    expect(await body(await t.api("/instances", { headers: asBeta }))).toEqual([]);

    const mine = await t.api(`/instances/${created.id}`, { headers: asAlpha });
    expect(mine.status).toBe(200);
    expect(await body(mine)).toMatchObject({ name: "alpha's" });
  });

  it("do not share a user: one organization's user with another's secret is 401", async () => {
    const alpha = await t.newAccount("alpha 2");
    const beta = await t.newAccount("beta 2");
    const mixed = `User ${alpha.userSecret}, Organization ${beta.organizationSecret}`;
    expect((await t.api("/instances", { headers: { Authorization: mixed } })).status).toBe(401);
  });
});
