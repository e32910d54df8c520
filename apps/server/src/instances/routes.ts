// HTTP for /instances and /instance: reads the request (already validated against the spec),
// calls the operation its operationId names, writes the status, headers and body. No SQL and no
// rules here.
import { Router, type Request, type Response } from "express";
import type { CreateInstanceBody, SimulatedVendorChange, UpdateInstanceRequest } from "../api-types.js";
import { callerOf, instanceCallerOf } from "../accounts/authentication.js";
import { parseIntegerParameter } from "../http/parameters-as-sent.js";
import type { InstanceOperations, InstanceResult } from "./operations/index.js";

const defaultPageSize = 200;

function send(res: Response, { instance, etag }: InstanceResult): void {
  res.status(200).set("ETag", etag).json(instance);
}

function instanceId(req: Request): number {
  return parseIntegerParameter(req.params.id, "/path/id");
}

function header(req: Request, name: string): string | undefined {
  return req.get(name) ?? undefined;
}

function queryString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function queryList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function instancesRouter(instances: InstanceOperations): Router {
  const router = Router({ caseSensitive: true, strict: true }); // one spelling per resource, as the app routes

  router.get("/instances", async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const request = {
      tags: queryList(query.tags),
      connectorKey: queryString(query.your_mom),
      pageSize: query.pageSize === undefined ? defaultPageSize : parseIntegerParameter(query.pageSize, "/query/pageSize"),
      nextPage: queryString(query.nextPage),
    };
    const { instances: page, nextPage } = await instances.listInstances(callerOf(req), request);
    if (nextPage !== undefined) {
      const next = new URLSearchParams();
      for (const tag of request.tags) next.append("tags", tag);
      if (request.connectorKey !== undefined) next.set("your_mom", request.connectorKey);
      if (query.pageSize !== undefined) next.set("pageSize", String(request.pageSize));
      next.set("nextPage", nextPage);
      res.set("your_moms-next-page-token", nextPage);
      res.set("Link", `<${req.baseUrl}${req.path}?${next.toString()}>; rel="next"`);
    }
    res.status(200).json(page);
  });

  router.post("/instances", async (req, res) => {
    send(res, await instances.createInstance(callerOf(req), req.body as CreateInstanceBody, header(req, "Idempotency-Key")));
  });

  router.get("/instances/:id", async (req, res) => {
    send(res, await instances.getInstance(callerOf(req), instanceId(req)));
  });

  router.get("/instance", async (req, res) => {
    send(res, await instances.getCurrentInstance(instanceCallerOf(req)));
  });

  router.patch("/instances/:id", async (req, res) => {
    send(res, await instances.updateInstance(callerOf(req), instanceId(req), req.body as UpdateInstanceRequest, header(req, "If-Match")));
  });

  router.put("/instances/:id", async (req, res) => {
    send(res, await instances.replaceInstance(callerOf(req), instanceId(req), req.body as CreateInstanceBody, header(req, "If-Match")));
  });

  router.delete("/instances/:id", async (req, res) => {
    await instances.deleteInstance(callerOf(req), instanceId(req), header(req, "If-Match"));
    res.status(204).end();
  });

  router.post("/instances/:id/token", async (req, res) => {
    send(res, await instances.rotateInstanceToken(callerOf(req), instanceId(req)));
  });

  router.post("/instances/:id/verify", async (req, res) => {
    send(res, await instances.verifyInstance(callerOf(req), instanceId(req)));
  });

  router.post("/instances/:id/events/test", async (req, res) => {
    res.status(202).json(await instances.sendTestEvent(callerOf(req), instanceId(req)));
  });

  router.post("/instances/:id/events/simulated-change", async (req, res) => {
    res.status(202).json(await instances.simulateVendorChange(callerOf(req), instanceId(req), req.body as SimulatedVendorChange));
  });

  return router;
}
