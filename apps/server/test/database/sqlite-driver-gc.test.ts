// Guards against a fixed bug: better-sqlite3 12 aborted the whole process on Node >= 24.19
// (`Assertion failed: (env) != nullptr` in Statement::~Statement) whenever the garbage collector
// finalized a prepared statement at the wrong moment, so `npm start` died at a random time. The
// crash needs a real process with forced GC, so the fixture runs as children of this Node. One
// child hit the abort in about 6 runs out of 10 with better-sqlite3 12 on Node 24.21; four
// children make a miss unlikely (about 1 in 40), and each takes about two seconds.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/serve-under-gc-pressure.mjs", import.meta.url));
const run = promisify(execFile);

async function serveUnderGcPressure(
  rounds: number,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--expose-gc", fixture, String(rounds)], { timeout: 60_000 });
    return { code: 0, signal: null, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number | null; signal: string | null; stdout: string; stderr: string };
    return { code: failed.code, signal: failed.signal, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the SQLite driver on this Node", () => {
  it(`survives thousands of prepared statements finalized by forced GC while the server serves (Node ${process.version})`, async () => {
    const children = await Promise.all([1, 2, 3, 4].map(() => serveUnderGcPressure(20)));
    for (const child of children) {
      expect(child.stderr).not.toMatch(/Assertion failed|FATAL ERROR|Segmentation fault/);
      expect({ code: child.code, signal: child.signal, stdout: child.stdout.trim() }).toEqual({
        code: 0,
        signal: null,
        stdout: "ok 240 5000",
      });
    }
  }, 120_000);
});
