#!/usr/bin/env node
// The `instances-api` command. A committed shim, so that npm links the bin at install time, before
// `npm run build` has written dist/cli.js (the compiled entry it loads).
import "../dist/cli.js";
