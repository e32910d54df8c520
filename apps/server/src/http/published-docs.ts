// What the server publishes besides the API: the rendered docs at /docs (built by
// @instances-api/docs), a redirect from / to them, and the spec it serves at /openapi.json and
// /openapi.yaml, with the right content types.
import { existsSync } from "node:fs";
import path from "node:path";
import express, { Router } from "express";
import { stringify as toYaml } from "yaml";
import type { OpenApiDocument } from "../api-types.js";

export function publishedDocs(spec: OpenApiDocument, docsDir: string): Router {
  const router = Router({ caseSensitive: true });
  const json = JSON.stringify(spec, null, 2);
  const yaml = toYaml(spec);

  router.get("/", (_req, res) => res.redirect(302, "/docs/"));
  router.get("/openapi.json", (_req, res) => res.type("application/json").send(json));
  router.get("/openapi.yaml", (_req, res) => res.type("application/yaml").send(yaml));
  router.use("/docs", express.static(docsDir, { index: "index.html", fallthrough: true }));
  router.get(["/docs", "/docs/"], (_req, res) => {
    res
      .status(404)
      .type("text/plain")
      .send(`The docs are not built (no ${path.join(docsDir, "index.html")}): run npm run build.\n`);
  });
  return router;
}

export function docsBuilt(docsDir: string): boolean {
  return existsSync(path.join(docsDir, "index.html"));
}
