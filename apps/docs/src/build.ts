// `npm run build`: writes dist/openapi.docs.json (the document the docs render) and dist/index.html,
// rendered by Redocly with Redoc inlined (--inlineBundle), so the page needs no network.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SpecDocument } from "@instances-api/connectors";
import { docsDocument } from "./docs-document.js";
import { readSamples } from "./samples.js";

const require = createRequire(import.meta.url);
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const dist = path.join(packageDir, "dist");
const bundle = JSON.parse(readFileSync(require.resolve("@instances-api/spec/openapi.json"), "utf8")) as SpecDocument;

mkdirSync(dist, { recursive: true });
const documentFile = path.join(dist, "openapi.docs.json");
writeFileSync(documentFile, JSON.stringify(docsDocument(bundle, readSamples), null, 2));

const redocly = path.join(path.dirname(require.resolve("@redocly/cli/package.json")), "bin", "cli.js");
execFileSync(
  process.execPath,
  [
    redocly,
    "build-docs",
    documentFile,
    "--output",
    path.join(dist, "index.html"),
    "--inlineBundle",
    "--title",
    "Instances API",
    "--config",
    path.join(packageDir, "redocly.yaml"),
    "--lint-config",
    "off",
  ],
  { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" } },
);
console.log(`docs: ${path.join(dist, "index.html")}`);
