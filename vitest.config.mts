// One vitest entry for the whole repository: each workspace is a project with its own config.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: ["spec", "packages/*", "apps/*", "tests/*"],
  },
});
