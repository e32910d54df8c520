// makeDirectory: mkdir -p, one level at a time, so that a path no directory can be made at fails
// instead of hanging as Node's recursive mkdirSync does under /proc.
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeDirectory } from "../src/make-directory.js";

const made: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "make-directory-"));
  made.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("makeDirectory", () => {
  it("makes every missing level with the mode asked, and leaves an existing one as it is", () => {
    const base = scratch();
    const deep = path.join(base, "a", "b", "c");
    makeDirectory(deep, 0o700);
    for (const level of ["a", "a/b", "a/b/c"]) expect(statSync(path.join(base, level)).mode & 0o777).toBe(0o700);
    makeDirectory(deep, 0o755); // already there: nothing changes, nothing is thrown
    expect(statSync(deep).mode & 0o777).toBe(0o700);
    makeDirectory(path.relative(process.cwd(), path.join(base, "relative")), 0o700);
    expect(existsSync(path.join(base, "relative"))).toBe(true);
  });

  it("fails on a file in the way, naming it as the system does", () => {
    const file = path.join(scratch(), "plain-file");
    writeFileSync(file, "");
    expect(() => makeDirectory(path.join(file, "data"), 0o700)).toThrow(expect.objectContaining({ code: "ENOTDIR" }));
    expect(() => makeDirectory(file, 0o700)).toThrow(expect.objectContaining({ code: "EEXIST" }));
  });

  it.runIf(existsSync("/proc/self"))("fails at once under /proc, where Node's recursive mkdir never returns", () => {
    expect(() => makeDirectory("/proc/instances-api-nowhere/deeper", 0o700)).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
