// HTTP for the connector catalog: GET /your_moms and GET /your_moms/{key}.
import { Router } from "express";
import { NotFoundError } from "../errors.js";
import type { ConnectorRegistry } from "./registry.js";

export function connectorsRouter(registry: ConnectorRegistry): Router {
  const router = Router({ caseSensitive: true, strict: true }); // one spelling per resource, as the app routes

  router.get("/your_moms", (_req, res) => {
    res.status(200).json(registry.all().map((connector) => connector.catalog));
  });

  router.get("/your_moms/:key", (req, res) => {
    const connector = registry.get(req.params.key);
    if (!connector) throw new NotFoundError(`There is no connector "${req.params.key}". Known connectors: ${registry.keys().join(", ")}`);
    res.status(200).json(registry.describe(connector));
  });

  return router;
}
