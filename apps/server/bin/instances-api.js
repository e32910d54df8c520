#!/usr/bin/env node
// The `instances-api` command. A committed shim, so that npm links the bin at install time, before
// `npm run build` has written dist/cli.js (the compiled entry it loads). It checks the Node first:
// on an older one the SQLite driver crashes (better-sqlite3 13 segfaults on Node 20) rather than
// saying why, so the shim says it in one line.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(`instances-api: needs Node 24 (or Node 22.12 and later); this is Node ${process.versions.node}`);
  process.exit(2);
}
await import("../dist/cli.js");
