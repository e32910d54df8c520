// A directory made as `mkdir -p` would, one level at a time. Node's own recursive mkdirSync never
// returns for a path under /proc (it retries a parent that exists but takes no new entry, on Node
// 22 and 24), and a server that hangs at start-up tells its operator nothing; made level by level,
// such a path fails with the error of the level that cannot be made. The errors are the system's
// own, as the recursive mkdir gives them: EEXIST for a file where the directory should be,
// ENOTDIR for a file on the way to it.
import { mkdirSync, statSync } from "node:fs";
import path from "node:path";

export function makeDirectory(dir: string, mode: number): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ;) {
    try {
      const found = statSync(at);
      if (!found.isDirectory() && missing.length === 0) mkdirSync(at, { mode }); // throws EEXIST
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    missing.push(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error; // made by another process meanwhile
    }
  }
}
