// `instances-api accounts list | create | rotate`, as users run them (the built bin in a child
// process), on SQLite and on PostgreSQL, while a server runs on the same storage: one JSON object
// on stdout for a success, one plain line on stderr and a non-zero exit for an error, never a
// secret in a list, and a rotated secret that stops working: at once for the database, and within
// the documented bound (the authentication cache's ten seconds) for a server that let it in just before.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { authenticationCacheTtlMilliseconds } from "../src/accounts/accounts.js";
import { cliPath, serveCli, type ServingCli } from "./cli-process.js";

// Matchers, typed `unknown` (what expect.any returns is `any`).
const aString: unknown = expect.any(String);

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command asynchronously: a server in this test's process must go on answering meanwhile. */
async function run(env: Record<string, string | undefined>, ...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cliPath, ...args], {
      env: { ...process.env, DATABASE_URL: undefined, ENCRYPTION_KEY: undefined, ...env },
      encoding: "utf8",
      timeout: 30_000,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number | null; stdout: string; stderr: string };
    return { status: typeof code === "number" ? code : null, stdout, stderr };
  }
}

/** A success: exit 0, nothing on stderr, one JSON object (one line) on stdout. */
function succeeded<T>(outcome: Outcome): T {
  expect({ status: outcome.status, stderr: outcome.stderr }).toEqual({ status: 0, stderr: "" });
  expect(outcome.stdout.endsWith("\n") && !outcome.stdout.slice(0, -1).includes("\n")).toBe(true);
  const value = JSON.parse(outcome.stdout) as unknown;
  expect(typeof value === "object" && value !== null && !Array.isArray(value)).toBe(true);
  return value as T;
}

/** An error: the exit code, nothing on stdout, one plain line on stderr (no stack). */
function failed(outcome: Outcome, status: number): string {
  expect({ status: outcome.status, stdout: outcome.stdout }).toEqual({ status, stdout: "" });
  expect(outcome.stderr).toMatch(/^instances-api: [^\n]+\n$/);
  expect(outcome.stderr).not.toMatch(/\bat .*\.js:\d+/);
  return outcome.stderr;
}

interface Created {
  organizationId: number;
  organization: string;
  organizationSecret: string;
  userId: number;
  userSecret: string;
  authorization: string;
}
interface Rotated {
  organizationId: number;
  organization: string;
  organizationSecret: string;
  users: { userId: number; userSecret: string; authorization: string }[];
}
interface Listed {
  organizations: { id: number; name: string; createdAt: string; users: { id: number; createdAt: string }[] }[];
}

const status = async (server: ServingCli, authorization: string) =>
  (await fetch(`${server.apiUrl}/instances`, { headers: { Authorization: authorization } })).status;

/** The same secrets spelled another way: not in the server's cache, so it asks the database. */
const respelled = (authorization: string) => authorization.replace(", Organization ", ",Organization ");

const dirs: string[] = [];
const servers: ServingCli[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sqlite(): Record<string, string> {
  const dir = mkdtempSync(path.join(tmpdir(), "instances-api-cli-accounts-"));
  dirs.push(dir);
  return { DATA_DIR: dir };
}

// One cluster for the file, started by the first PostgreSQL test (on a loaded machine that can
// take tens of seconds: hence the tests' long timeout), a database of its own for each test.
let cluster: Promise<PostgresCluster> | undefined;
afterAll(async () => (await cluster)?.stop());

let databases = 0;
async function postgres(): Promise<Record<string, string>> {
  cluster ??= startPostgresCluster();
  const running = await cluster;
  const database = `cli_accounts_${++databases}`;
  await running.sql(`CREATE DATABASE ${database}`);
  return { ...sqlite(), DATABASE_URL: running.url.replace(/\/[^/]+$/, `/${database}`), ENCRYPTION_KEY: "a".repeat(64) };
}

describe.each([
  ["SQLite", sqlite],
  ["PostgreSQL", postgres],
] as const)("instances-api accounts on %s", { timeout: 120_000 }, (_name, storage) => {
  it("lists ids, names and creation times, oldest first, and never a secret", async () => {
    const env = await storage();
    expect(succeeded<Listed>(await run(env, "accounts", "list"))).toEqual({ organizations: [] });
    const acme = succeeded<Created>(await run(env, "accounts", "create", "--organization", "Acme"));
    const globex = succeeded<Created>(await run(env, "accounts", "create", "--organization", "Globex"));
    const outcome = await run(env, "accounts", "list");
    const listed = succeeded<Listed>(outcome);
    expect(listed).toEqual({
      organizations: [
        {
          id: acme.organizationId,
          name: "Acme",
          createdAt: aString,
          users: [{ id: acme.userId, createdAt: aString }],
        },
        {
          id: globex.organizationId,
          name: "Globex",
          createdAt: aString,
          users: [{ id: globex.userId, createdAt: aString }],
        },
      ],
    });
    expect(Date.parse(listed.organizations[0]!.createdAt)).toBeGreaterThan(Date.now() - 120_000);
    for (const secret of [acme.organizationSecret, acme.userSecret, globex.organizationSecret, globex.userSecret]) {
      expect(outcome.stdout).not.toContain(secret);
    }
  });

  it("refuses a name an organization has already, unless --allow-duplicate", async () => {
    const env = await storage();
    const first = succeeded<Created>(await run(env, "accounts", "create", "--organization", "Initech"));
    const refused = failed(await run(env, "accounts", "create", "--organization", "Initech"), 1);
    expect(refused).toBe(
      `instances-api: an organization named "Initech" exists already (id ${first.organizationId}); pass --allow-duplicate to create another of that name\n`,
    );
    expect(succeeded<Listed>(await run(env, "accounts", "list")).organizations).toHaveLength(1);

    const second = succeeded<Created>(await run(env, "accounts", "create", "--organization", "Initech", "--allow-duplicate"));
    expect(second.organizationId).not.toBe(first.organizationId);
    expect(succeeded<Listed>(await run(env, "accounts", "list")).organizations.map((o) => o.name)).toEqual(["Initech", "Initech"]);
  });

  it("rotates while a server runs: new secrets printed once, the old ones refused (at once by the database, within the bound from the cache)", async () => {
    const env = await storage();
    const server = await serveCli(env);
    servers.push(server);
    const account = succeeded<Created>(await run(env, "accounts", "create", "--organization", "Rotating"));
    const bystander = succeeded<Created>(await run(env, "accounts", "create", "--organization", "Bystander"));
    expect(await status(server, account.authorization)).toBe(200); // now in the server's cache

    const outcome = await run(env, "accounts", "rotate", "--organization-id", String(account.organizationId));
    const rotatedAt = Date.now();
    const rotated = succeeded<Rotated>(outcome);
    expect(rotated).toEqual({
      organizationId: account.organizationId,
      organization: "Rotating",
      organizationSecret: aString,
      users: [{ userId: account.userId, userSecret: aString, authorization: aString }],
    });
    const [user] = rotated.users;
    expect(user!.authorization).toBe(`User ${user!.userSecret}, Organization ${rotated.organizationSecret}`);
    expect([rotated.organizationSecret, user!.userSecret]).not.toContain(account.organizationSecret);
    expect([rotated.organizationSecret, user!.userSecret]).not.toContain(account.userSecret);

    expect(await status(server, user!.authorization)).toBe(200);
    expect(await status(server, respelled(account.authorization))).toBe(401);
    expect(await status(server, `User ${user!.userSecret}, Organization ${account.organizationSecret}`)).toBe(401);
    expect(await status(server, bystander.authorization)).toBe(200);

    // The header the server let in just before may still work from its cache, for at most the bound.
    let refusedAfter: number | undefined;
    while (refusedAfter === undefined && Date.now() - rotatedAt < authenticationCacheTtlMilliseconds + 5_000) {
      if ((await status(server, account.authorization)) === 401) refusedAfter = Date.now() - rotatedAt;
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(refusedAfter).toBeDefined();
    expect(refusedAfter).toBeLessThanOrEqual(authenticationCacheTtlMilliseconds + 1_000);
    expect(await status(server, account.authorization)).toBe(401);
    expect(await status(server, user!.authorization)).toBe(200);
  });

  it("says so for an organization that does not exist", async () => {
    const env = await storage();
    succeeded<Created>(await run(env, "accounts", "create", "--organization", "Somebody"));
    expect(failed(await run(env, "accounts", "rotate", "--organization-id", "4242"), 1)).toBe(
      "instances-api: there is no organization with id 4242\n",
    );
  });
});

describe("instances-api accounts, misused", () => {
  it.each(["0", "1e0", "0x1", "+1", "one", ""])("refuses --organization-id %j: not an id, exit 2, nothing opened", async (id) => {
    expect(failed(await run(sqlite(), "accounts", "rotate", "--organization-id", id), 2)).toBe(
      `instances-api: --organization-id must be an organization's id (a positive integer), not ${JSON.stringify(id)}\n`,
    );
  });

  it.each([
    [["accounts", "rotate"], "accounts rotate needs --organization-id <id> (see instances-api accounts list)"],
    [["accounts", "rotate", "--organization-id", "-1"], "Option '--organization-id' argument is ambiguous."],
    [["accounts", "list", "--all"], "Unknown option '--all'"],
    [["accounts", "create", "--organization", "A", "--allow-duplicate=yes"], "Option '--allow-duplicate' does not take an argument"],
  ])("%j is a usage error in one line, exit 2", async (args, says) => {
    expect(failed(await run(sqlite(), ...args), 2)).toContain(says);
  });
});
