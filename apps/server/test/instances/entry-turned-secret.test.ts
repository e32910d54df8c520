// An entry a connector turns into a secret after instances were stored with it in clear
// (Freshservice's `username`, which usually holds the API key): masked in every answer at once,
// and moved out of the clear configuration into the sealed secrets by the next configuration write.
import Database from "better-sqlite3";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => (t = await startTestServer()));
afterAll(() => t.stop());

const apiKey = "fs-api-key-9c1e";
const clearConfiguration = (id: number) => {
  const db = new Database(path.join(t.dataDir, "instances.sqlite"));
  try {
    const row = db.prepare("SELECT configuration FROM instances WHERE id = ?").get(id) as { configuration: string };
    return JSON.parse(row.configuration) as Record<string, string>;
  } finally {
    db.close();
  }
};

it("masks an entry stored in clear before it became a secret, and seals it at the next configuration write", async () => {
  const created = await t.api("/instances", {
    method: "POST",
    json: { your_mom: { key: "freshservice" }, configuration: { username: apiKey, password: "X", subdomain: "acme" }, name: "Desk" },
  });
  const { id } = await body<{ id: number }>(created);
  // The row as a version that kept `username` in clear wrote it.
  const db = new Database(path.join(t.dataDir, "instances.sqlite"));
  db.prepare("UPDATE instances SET configuration = json_set(configuration, '$.username', ?) WHERE id = ?").run(apiKey, id);
  db.close();
  expect(clearConfiguration(id).username).toBe(apiKey);

  const shown = await t.api(`/instances/${id}`);
  expect(await shown.text()).not.toContain(apiKey);
  const listed = await t.api("/instances");
  expect(await listed.text()).not.toContain(apiKey);

  const patched = await t.api(`/instances/${id}`, {
    method: "PATCH",
    json: { configuration: { "event.notification.callback.url": "https://example.com/hook" } },
  });
  expect(patched.status).toBe(200);
  expect(await patched.text()).not.toContain(apiKey);
  expect(clearConfiguration(id)).not.toHaveProperty("username");
});
