import { defineConfig } from "vitest/config";

export default defineConfig({ test: { name: "e2e", testTimeout: 120_000, hookTimeout: 60_000 } });
