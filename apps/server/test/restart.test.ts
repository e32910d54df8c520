// Data survives a restart, and the data dir holds no credential in clear: not a secret entry,
// not a token, not an account secret (read the database files' bytes).
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { body, startTestServer } from "./harness.js";

describe("a restart", () => {
  it("keeps everything written before it, and the data dir holds no secret in clear", async () => {
    let t = await startTestServer();
    const secrets = ["Sup3r-Secret-Password-91f2", "Consumer-Secret-5be1", "Consumer-Key-77aa"];
    const created = await body<{ id: number; token: string }>(
      await t.api("/instances", {
        method: "POST",
        json: {
          your_mom: { key: "sugarcrmv2" },
          configuration: {
            "oauth.api.key": secrets[2],
            "oauth.api.secret": secrets[1],
            "site.url": "acme.sugarondemand.com",
            username: "sales",
            password: secrets[0],
          },
          tags: ["crm"],
          name: "CRM",
        },
        headers: { "Idempotency-Key": "restart-key" },
      }),
    );
    const before = await body(await t.api(`/instances/${created.id}`));
    const account = await t.newAccount("second");

    t = await t.restart();
    try {
      expect(await body(await t.api(`/instances/${created.id}`))).toEqual(before);
      expect((await t.api("/instances", { headers: { Authorization: account.authorization } })).status).toBe(200);

      const files = readdirSync(t.dataDir).filter((f) => f.startsWith("instances.sqlite"));
      expect(files).toContain("instances.sqlite");
      const bytes = Buffer.concat(files.map((f) => readFileSync(path.join(t.dataDir, f))));
      const inClear = [
        ...secrets,
        created.token,
        account.userSecret,
        account.organizationSecret,
        ...t.authorization.split(/[ ,]+/).filter((w) => w.length > 20),
      ];
      for (const secret of inClear) expect(bytes.includes(Buffer.from(secret)), secret).toBe(false);
      expect(bytes.includes(Buffer.from("acme.sugarondemand.com"))).toBe(true); // not a secret: stored, and so findable

      // Rows written before migration 2 have no secret entry names: they are masked by decrypting.
      const db = new Database(path.join(t.dataDir, "instances.sqlite"));
      db.prepare("UPDATE instances SET secret_keys = NULL WHERE id = ?").run(created.id);
      db.close();
      expect(await body(await t.api(`/instances/${created.id}`))).toEqual(before);

      const keyFile = statSync(path.join(t.dataDir, "encryption.key"));
      expect(keyFile.mode & 0o777).toBe(0o600);
    } finally {
      await t.stop();
    }
  });
});
