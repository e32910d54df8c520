// The key check on SQLite, through the real command: a start with a key that does not open the
// stored data is refused in one line and writes nothing; a deleted key file is never replaced by a
// fresh key while sealed data is there; a data dir from before the check gets one, from the right
// key only.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createSecretBox } from "../../src/secrets/secret-box.js";
import { announcedAuthorization, refusedStart, serveCli } from "../cli-process.js";

const keyA = Buffer.alloc(32, 0xa1).toString("base64");
const keyB = Buffer.alloc(32, 0xb2).toString("base64");
// Each test starts the command several times; on a loaded machine one start can take seconds.
const timeout = 120_000;
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "instances-api-key-"));
  dirs.push(dir);
  return dir;
}

/** Serves the data dir with `env`, creates an instance with a secret entry (once with an Idempotency-Key), stops. */
async function seal(dir: string, env: Record<string, string | undefined>): Promise<{ authorization: string; id: number }> {
  const server = await serveCli({ DATA_DIR: dir, ...env });
  const authorization = announcedAuthorization(server.output());
  const response = await fetch(`${server.apiUrl}/instances`, {
    method: "POST",
    headers: { Authorization: authorization, "Content-Type": "application/json", "Idempotency-Key": "first" },
    body: JSON.stringify({ your_mom: { key: "taxify" }, configuration: { "api.key": "sealed-secret" }, name: "sealed" }),
  });
  expect(response.status).toBe(200);
  const { id } = (await response.json()) as { id: number };
  expect(await server.stop()).toBe(0);
  return { authorization, id };
}

/** Every file of the data dir with a hash of its bytes. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir).map((name) => [
      name,
      createHash("sha256")
        .update(readFileSync(path.join(dir, name)))
        .digest("hex"),
    ]),
  );
}

function expectKeyRefusal(result: ReturnType<typeof refusedStart>): void {
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/^instances-api: the encryption key does not match the stored data: [^\n]+\n$/);
  expect(result.stdout).toBe("");
}

function keyCheckRow(dir: string): string | undefined {
  const db = new Database(path.join(dir, "instances.sqlite"), { readonly: true });
  try {
    return db.prepare("SELECT sealed FROM key_check").pluck().get() as string | undefined;
  } finally {
    db.close();
  }
}

/** Starts with `env`, reads the instance back (its secret masked), stops. */
async function readsBack(
  dir: string,
  env: Record<string, string | undefined>,
  { authorization, id }: { authorization: string; id: number },
): Promise<void> {
  const server = await serveCli({ DATA_DIR: dir, ...env });
  try {
    const response = await fetch(`${server.apiUrl}/instances/${id}`, { headers: { Authorization: authorization } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id, configuration: { "api.key": "********" } });
    const patch = await fetch(`${server.apiUrl}/instances/${id}`, {
      method: "PATCH",
      headers: { Authorization: authorization, "Content-Type": "application/json" },
      body: JSON.stringify({ configuration: { "api.key": "rotated" } }),
    });
    expect(patch.status).toBe(200);
  } finally {
    expect(await server.stop()).toBe(0);
  }
}

describe("a start with a key that does not open the stored data", { timeout }, () => {
  it("is refused with another ENCRYPTION_KEY, in one line, and the data dir's bytes stay as they were", async () => {
    const dir = dataDir();
    const written = await seal(dir, { ENCRYPTION_KEY: keyA });
    const before = snapshot(dir);

    expectKeyRefusal(refusedStart({ DATA_DIR: dir, ENCRYPTION_KEY: keyB }));
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(dir)).not.toContain("encryption.key");

    await readsBack(dir, { ENCRYPTION_KEY: keyA }, written);
  });

  it("is refused when the key file was deleted while sealed data is there, and no new key file is made", async () => {
    const dir = dataDir();
    const written = await seal(dir, { ENCRYPTION_KEY: undefined });
    const keyFile = path.join(dir, "encryption.key");
    const key = readFileSync(keyFile);
    rmSync(keyFile);
    const before = snapshot(dir);

    const result = refusedStart({ DATA_DIR: dir, ENCRYPTION_KEY: undefined });
    expectKeyRefusal(result);
    expect(result.stderr).toContain(`the key file ${keyFile} is missing`);
    expect(snapshot(dir)).toEqual(before);

    writeFileSync(keyFile, randomBytes(32).toString("base64") + "\n", { mode: 0o600 }); // another key in its place
    expectKeyRefusal(refusedStart({ DATA_DIR: dir, ENCRYPTION_KEY: undefined }));

    writeFileSync(keyFile, key);
    await readsBack(dir, { ENCRYPTION_KEY: undefined }, written);
  });
});

describe("a data dir from before the key check", { timeout }, () => {
  // Today's data dirs: sealed instances and idempotent responses, and no key check yet.
  const beforeTheCheck: [string, { rewind: string; instanceKept: boolean }][] = [
    ["the key-check row deleted", { rewind: "DELETE FROM key_check", instanceKept: true }],
    [
      "the schema of the version before (no key_check table)",
      { rewind: "DROP TABLE key_check; DELETE FROM schema_migrations WHERE version = 3", instanceKept: true },
    ],
    ["only an idempotent response left sealed", { rewind: "DELETE FROM key_check; DELETE FROM instances", instanceKept: false }],
  ];

  it.each(beforeTheCheck)("(%s) refuses a wrong key, then gets its check from the right one", async (_name, { rewind, instanceKept }) => {
    const dir = dataDir();
    const written = await seal(dir, { ENCRYPTION_KEY: keyA });
    const db = new Database(path.join(dir, "instances.sqlite"));
    db.exec(rewind);
    db.close();

    expectKeyRefusal(refusedStart({ DATA_DIR: dir, ENCRYPTION_KEY: keyB }));
    expect(keyCheckRow(dir)).toBeUndefined();

    const server = await serveCli({ DATA_DIR: dir, ENCRYPTION_KEY: keyA });
    expect(await server.stop()).toBe(0);
    const check = keyCheckRow(dir);
    expect(check).toBeDefined();
    expect(createSecretBox(Buffer.from(keyA, "base64")).open(check!, "key-check")).toBe("instances-api key check");

    expectKeyRefusal(refusedStart({ DATA_DIR: dir, ENCRYPTION_KEY: keyB }));
    if (instanceKept) await readsBack(dir, { ENCRYPTION_KEY: keyA }, written);
  });
});

describe("ENCRYPTION_KEY", { timeout }, () => {
  it("with a stray character is refused at once, in one line (Node's base64 decoder would skip it)", () => {
    const stray = `${keyA.slice(0, 20)}!${keyA.slice(20)}`;
    expect(Buffer.from(stray, "base64")).toEqual(Buffer.from(keyA, "base64")); // what the lenient decoder made of it
    const result = refusedStart({ DATA_DIR: dataDir(), ENCRYPTION_KEY: stray });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      "instances-api: ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32), with no other character\n",
    );
  });
});
