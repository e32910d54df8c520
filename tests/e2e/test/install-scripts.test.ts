// A clean install: every dependency that has an install script is covered by the root
// package.json's `allowScripts` (npm 11.16+ warns about each one that is not and npm 12 blocks
// it; CI's `npm ci --strict-allow-scripts` fails on it), and the lock file records what a fresh
// `npm install` would, so that `npm install` leaves it as it is. Reads package.json, the lock file
// and the installed packages only: no network.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);
const repositoryRoot = path.resolve(path.dirname(require.resolve("@instances-api/server/package.json")), "..", "..");

interface LockEntry {
  version?: string;
  hasInstallScript?: boolean;
  link?: boolean;
}
interface Lock {
  packages: Record<string, LockEntry>;
}
type Policy = Record<string, boolean>;

const readJson = (file: string): unknown => JSON.parse(readFileSync(path.join(repositoryRoot, file), "utf8"));

/** The package a lock file key names: `node_modules/a/node_modules/@s/b` is `@s/b`. */
const nameOf = (key: string): string => key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);

/**
 * The installed registry dependencies that have install scripts: the ones the lock file says so
 * of, and the ones with a `binding.gyp` on disk, for which npm runs `node-gyp rebuild` on an
 * install from the lock file (the lock does not keep a package's `gypfile: false`: so for
 * better-sqlite3, whose prebuilt binary needs no build).
 */
function withInstallScripts(lock: Lock, root: string): { key: string; name: string; version: string; inLock: boolean }[] {
  return Object.entries(lock.packages)
    .filter(([key, entry]) => key.startsWith("node_modules/") && !entry.link)
    .map(([key, entry]) => ({
      key,
      name: nameOf(key),
      version: entry.version ?? "",
      inLock: entry.hasInstallScript === true,
      gyp: existsSync(path.join(root, key, "binding.gyp")),
    }))
    .filter(({ inLock, gyp }) => inLock || gyp)
    .map(({ key, name, version, inLock }) => ({ key, name, version, inLock }));
}

/** An `allowScripts` key (`name`, `name@*`, `name@1.2.3 || 1.2.4`) as the package it names and its versions ("" for any). */
function parseKey(policyKey: string): { name: string; spec: string } {
  const at = policyKey.indexOf("@", 1);
  return at === -1 ? { name: policyKey, spec: "" } : { name: policyKey.slice(0, at), spec: policyKey.slice(at + 1).trim() };
}

function covers(policyKey: string, name: string, version: string): boolean {
  const key = parseKey(policyKey);
  if (key.name !== name) return false;
  return key.spec === "" || key.spec === "*" || key.spec.split("||").some((v) => v.trim() === version);
}

function uncovered(lock: Lock, policy: Policy, root: string): string[] {
  return withInstallScripts(lock, root)
    .filter(({ name, version }) => !Object.keys(policy).some((policyKey) => covers(policyKey, name, version)))
    .map(({ name, version }) => `${name}@${version}`);
}

describe("the install's scripts", () => {
  const lock = readJson("package-lock.json") as Lock;
  const policy = ((readJson("package.json") as { allowScripts?: Policy }).allowScripts ?? {}) satisfies Policy;

  it("covers every dependency with an install script in allowScripts", () => {
    expect(withInstallScripts(lock, repositoryRoot).map(({ name }) => name)).toEqual(
      expect.arrayContaining(["better-sqlite3", "@scarf/scarf"]),
    );
    expect(uncovered(lock, policy, repositoryRoot)).toEqual([]);
  });

  it("denies the scripts nobody needs: better-sqlite3's node-gyp build and @scarf/scarf's telemetry", () => {
    expect(policy).toMatchObject({ "better-sqlite3": false, "@scarf/scarf": false });
  });

  it("names no package that is not in the lock file", () => {
    const names = new Set(Object.keys(lock.packages).map(nameOf));
    expect(Object.keys(policy).filter((key) => !names.has(parseKey(key).name))).toEqual([]);
  });

  it("records in the lock file every install script a fresh npm install finds, so that npm install leaves the lock as it is", () => {
    expect(withInstallScripts(lock, repositoryRoot).filter(({ inLock }) => !inLock)).toEqual([]);
  });

  it("finds an uncovered package (the check can fail)", () => {
    const sample: Lock = {
      packages: {
        "": {},
        "node_modules/a": { version: "1.0.0", hasInstallScript: true },
        "node_modules/x/node_modules/@s/b": { version: "2.0.0", hasInstallScript: true },
        "node_modules/c": { version: "3.0.0" },
      },
    };
    expect(uncovered(sample, {}, "/nonexistent")).toEqual(["a@1.0.0", "@s/b@2.0.0"]);
    expect(uncovered(sample, { a: false, "@s/b@2.0.0": true }, "/nonexistent")).toEqual([]);
    expect(uncovered(sample, { "a@0.9.0": true, "@s/b@1.0.0 || 2.0.0": false }, "/nonexistent")).toEqual(["a@1.0.0"]);
  });
});
