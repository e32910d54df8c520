import { defineConfig } from "vitest/config";

// Two test files at a time: the server's files mostly wait (timers, child servers, fake vendors),
// so one at a time took 16 minutes of a 2-core machine at a load of 1; two keep .ci/run under 15.
export default defineConfig({ test: { name: "server", testTimeout: 20_000, hookTimeout: 30_000, maxWorkers: 2 } });
