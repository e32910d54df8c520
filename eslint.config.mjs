// One lint configuration for every TypeScript workspace: typescript-eslint's type-aware
// recommended rules, so that promises are awaited and `any` does not leak.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/lib/**", "**/generated/**", "**/node_modules/**", "**/.turbo/**", "**/*.mjs", "**/*.mts", "**/bin/*.js"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
