// HTTP for /instances/{id}/deliveries: reads the request (already validated), calls the service.
import { Router } from "express";
import { callerOf } from "../accounts/authentication.js";
import { parseIntegerParameter } from "../http/parameters-as-sent.js";
import type { DeliveriesService } from "./deliveries.js";

export function deliveriesRouter(deliveries: DeliveriesService): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get("/instances/:id/deliveries", async (req, res) => {
    res.status(200).json(await deliveries.list(callerOf(req), parseIntegerParameter(req.params.id, "/path/id")));
  });
  return router;
}
