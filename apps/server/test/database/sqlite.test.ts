// The SQLite file as the server finds it: created readable by its owner only; refused at start,
// naming it, when its pages are damaged; reported by /healthz (503) and answered 503 when it is
// damaged under a running server; a data directory it cannot use is one plain line, not a stack.
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  chmodSync,
} from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { embeddedConfig } from "../../src/config.js";
import { startServer } from "../../src/server.js";
import { refusedStart } from "../cli-process.js";
import { body, startTestServer } from "../harness.js";

// Some tests start the command, which can take seconds on a loaded machine.
const timeout = 60_000;
const dirs: string[] = [];
const chmodded: string[] = [];
afterEach(() => {
  for (const dir of chmodded.splice(0)) chmodSync(dir, 0o700);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "instances-api-sqlite-"));
  dirs.push(dir);
  return dir;
}

const pageSize = 4096;

/** Random bytes over the given pages (numbered from 1, as SQLite numbers them) of the file. */
function overwritePages(file: string, pages: number[]): void {
  const fd = openSync(file, "r+");
  try {
    for (const page of pages) writeSync(fd, randomBytes(pageSize), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
}

function pagesOf(file: string): number {
  return statSync(file).size / pageSize;
}

/** A data dir holding a default account and a few instances, the server stopped. */
async function filledDataDir(): Promise<string> {
  const dir = scratch();
  const t = await startTestServer({ dataDir: dir });
  for (let i = 0; i < 20; i++) {
    const created = await t.api("/instances", {
      method: "POST",
      json: { your_mom: { key: "taxify" }, configuration: { "api.key": `k${i}` }, name: `n${i}`, tags: ["t"] },
    });
    expect(created.status).toBe(200);
  }
  await t.stop();
  return dir;
}

describe("the data files", () => {
  it("are created readable by their owner only: the data dir 0700, the database, its -wal and -shm, the key file 0600", async () => {
    const dataDir = path.join(scratch(), "data", "nested");
    const server = await startServer({ config: embeddedConfig(dataDir, { logLevel: "silent" }), announce: () => undefined });
    try {
      const modes = Object.fromEntries(
        [".", "..", "instances.sqlite", "instances.sqlite-wal", "instances.sqlite-shm", "encryption.key"].map((name) => [
          name,
          (statSync(path.join(dataDir, name)).mode & 0o777).toString(8),
        ]),
      );
      expect(modes).toEqual({
        ".": "700",
        "..": "700",
        "instances.sqlite": "600",
        "instances.sqlite-wal": "600",
        "instances.sqlite-shm": "600",
        "encryption.key": "600",
      });
    } finally {
      await server.close();
    }
  });
});

describe("a damaged database file", { timeout }, () => {
  it.each([
    ["its first page (the header and the schema)", (_pages: number) => [1], /file is not a database|damaged/],
    [
      "every page after the first (the tables and indexes)",
      (pages: number) => Array.from({ length: pages - 1 }, (_, i) => i + 2),
      /Tree \d+ page \d+|malformed/,
    ],
  ])("is refused at start when random bytes cover %s, in one line naming the file", async (_name, pages, detail) => {
    const dir = await filledDataDir();
    const file = path.join(dir, "instances.sqlite");
    overwritePages(file, pages(pagesOf(file)));

    const result = refusedStart({ DATA_DIR: dir });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^instances-api: the database ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is damaged \\([^\\n]+\\); restore it from a backup, or move it away to start empty\\n$`,
      ),
    );
    expect(result.stderr).toMatch(detail);
  });

  it("under a running server makes /healthz answer 503, and requests 503 Problems rather than 500s", async () => {
    const t = await startTestServer({ dataDir: scratch() });
    try {
      for (let i = 0; i < 20; i++) {
        expect(
          (
            await t.api("/instances", {
              method: "POST",
              json: { your_mom: { key: "taxify" }, configuration: { "api.key": `k${i}` }, name: `n${i}` },
            })
          ).status,
        ).toBe(200);
      }
      expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);

      // What SQLite itself does now and then: copy the WAL into the file (and start the WAL again).
      const file = path.join(t.dataDir, "instances.sqlite");
      const other = new Database(file);
      other.pragma("wal_checkpoint(TRUNCATE)");
      other.close();
      overwritePages(
        file,
        Array.from({ length: pagesOf(file) - 1 }, (_, i) => i + 2),
      );

      const health = await fetch(`${t.server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(await body(health)).toMatchObject({ status: 503, type: "urn:instances-api:problem:unavailable" });

      const list = await t.api("/instances");
      expect(list.status).toBe(503);
      expect(list.headers.get("Content-Type")).toMatch(/^application\/problem\+json/);
      const problem = await body<{ status: number; type: string; message: string }>(list);
      expect(problem).toMatchObject({ status: 503, type: "urn:instances-api:problem:unavailable" });
      expect(problem.message).toContain("The database cannot be read");
      // The log keeps what SQLite said, for the operator.
      const failed = t.logs.filter(
        (line) => line.msg === "the database is unavailable" && (line.req as { url: string }).url.endsWith("/instances"),
      );
      expect((failed[0]?.err as { message?: string } | undefined)?.message).toContain("database disk image is malformed");
    } finally {
      await t.server.close();
    }
  });
});

describe("a database file moved away under a running server", { timeout }, () => {
  it("makes /healthz answer 503 with Retry-After, not a 500", async () => {
    const t = await startTestServer({ dataDir: scratch() });
    const elsewhere = scratch();
    try {
      expect((await fetch(`${t.server.url}/healthz`)).status).toBe(200);
      for (const name of readdirSync(t.dataDir).filter((f) => f.startsWith("instances.sqlite"))) {
        renameSync(path.join(t.dataDir, name), path.join(elsewhere, name));
      }
      const health = await fetch(`${t.server.url}/healthz`);
      expect(health.status).toBe(503);
      expect(health.headers.get("Retry-After")).toMatch(/^\d+$/);
      expect(await body(health)).toMatchObject({ status: 503, type: "urn:instances-api:problem:unavailable" });
    } finally {
      await t.server.close();
    }
  });
});

describe("a DATA_DIR the server cannot use", { timeout }, () => {
  const asRoot = process.getuid?.() === 0;
  // As root, permissions do not stop reads or writes: other real faults stand in for chmod there.
  const faults: [string, (dir: string) => string, RegExp][] = [
    [
      "a regular file",
      (dir) => writeFileAt(path.join(dir, "plain-file")),
      /^cannot use the data directory .*plain-file: it is a file, not a directory$/,
    ],
    [
      "a path under a regular file",
      (dir) => path.join(writeFileAt(path.join(dir, "plain-file")), "data"),
      /^cannot use the data directory .*plain-file\/data: a part of the path is a file, not a directory$/,
    ],
    asRoot
      ? [
          "a symbolic link to itself (as root, in place of a directory without read permission)",
          (dir) => selfLink(path.join(dir, "loop")),
          /^cannot use the data directory .*loop: (too many symbolic links|it is a file, not a directory)$/,
        ]
      : [
          "a directory without read permission (chmod 000)",
          (dir) => withMode(path.join(dir, "data"), 0o000),
          /^cannot use the data directory .*data: permission denied$/,
        ],
    asRoot
      ? [
          "a directory whose database path is a directory (as root, in place of a read-only directory)",
          (dir) => dirWithDatabaseDir(path.join(dir, "data")),
          /^cannot open the database .*data\/instances\.sqlite: it is a directory, not a file$/,
        ]
      : [
          "a read-only directory (chmod 500)",
          (dir) => withMode(path.join(dir, "data"), 0o500),
          /^cannot use the data directory .*data: permission denied$/,
        ],
  ];

  // Node's recursive mkdir never returns for a path under /proc: the server makes it level by level.
  if (existsSync("/proc/self"))
    faults.push([
      "a path no directory can be made at (under /proc)",
      () => "/proc/instances-api-nowhere/data",
      /^cannot use the data directory \/proc\/instances-api-nowhere\/data: ENOENT: no such file or directory, mkdir '\/proc\/instances-api-nowhere'$/,
    ]);

  it.each(faults)("that is %s stops the start with one plain line naming it", (_name, make, message) => {
    const dataDir = make(scratch());
    const result = refusedStart({ DATA_DIR: dataDir });
    expect(result.status).toBe(1);
    expect(result.stderr.endsWith("\n")).toBe(true);
    expect(result.stderr.split("\n")).toHaveLength(2);
    expect(result.stderr.replace(/^instances-api: /, "").trimEnd()).toMatch(message);
    expect(result.stderr).toContain(dataDir);
  });
});

function writeFileAt(file: string): string {
  writeFileSync(file, "not a directory\n");
  return file;
}

function selfLink(link: string): string {
  symlinkSync(link, link);
  return link;
}

function withMode(dir: string, mode: number): string {
  mkdirSync(dir);
  chmodSync(dir, mode);
  chmodded.push(dir);
  return dir;
}

function dirWithDatabaseDir(dir: string): string {
  mkdirSync(path.join(dir, "instances.sqlite"), { recursive: true });
  return dir;
}
