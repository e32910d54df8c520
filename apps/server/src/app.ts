// createApp(): the Express application, in one visible order. It never listens; server.ts does.
//   1. security headers (helmet, no-store), request id and the log line, CORS (when set)
//   2. /healthz, /docs, /openapi.json|yaml
//   3. the caller authenticated (failed guesses throttled per address), the per-organization limit
//      (when set), a trailing slash refused, then, for a known caller only, the JSON body (1 MB at
//      most); the query kept as sent
//   4. the spec's validator (routing, security, requests, responses), HEAD beside each GET
//   5. the query as sent again (nested keys refused), JSON-only answers, the body's own errors,
//      keys that could pollute, the API routes
//   6. 404 for the rest, then the one error handler
// Routing is case-sensitive (`/INSTANCES` is not `/instances`); the validator reads the same setting.
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import type { Logger } from "pino";
import type { OpenApiDocument } from "./api-types.js";
import { AuthenticationThrottle } from "./accounts/authentication-throttle.js";
import { authenticateCaller, restoreAuthenticationFailure, securityHandler } from "./accounts/authentication.js";
import type { AccountStore } from "./accounts/store.js";
import type { ConnectorRegistry } from "./connectors/registry.js";
import { connectorsRouter } from "./connectors/routes.js";
import { answerSpecViolation, errorHandler, notFound } from "./http/error-handler.js";
import { withHeadOperations } from "./http/head-requests.js";
import { jsonBody, preferBodyError, raiseBodyError } from "./http/json-body.js";
import { corsForOrigins } from "./http/cors.js";
import { jsonOnly } from "./http/json-only.js";
import { keepQueryAsSent, restoreQueryAsSent } from "./http/parameters-as-sent.js";
import { publishedDocs } from "./http/published-docs.js";
import { limitOrganizationRequests } from "./http/rate-limits.js";
import { rejectNestedQueryKeys, rejectPollutingKeys } from "./http/reject-polluting-keys.js";
import { requestLogging } from "./http/request-logging.js";
import { securityHeaders } from "./http/security-headers.js";
import type { DeliveriesService } from "./events/deliveries.js";
import { deliveriesRouter } from "./events/routes.js";
import type { InstancesService } from "./instances/instances.js";
import { instancesRouter } from "./instances/routes.js";
import { basePathOf } from "./spec.js";
import { echo, NotFoundError } from "./errors.js";
import type { RateLimits } from "./config.js";

export interface AppOptions {
  spec: OpenApiDocument;
  registry: ConnectorRegistry;
  accounts: AccountStore;
  instances: InstancesService;
  deliveries: DeliveriesService;
  logger: Logger;
  /** Check every response against the spec too (development and tests; off in production). */
  validateResponses: boolean;
  /** Resolves when the server can serve: the database answers. */
  healthCheck: () => Promise<void>;
  /** The built docs (index.html), served at /docs. */
  docsDir: string;
  rateLimits: Readonly<RateLimits>;
  /** Origins allowed to call the API from a browser (CORS); none when empty. */
  corsOrigins: readonly string[];
}

export function createApp(options: AppOptions): express.Express {
  const { spec, registry, accounts, instances, deliveries, logger, validateResponses, healthCheck, docsDir, rateLimits, corsOrigins } =
    options;
  const basePath = basePathOf(spec);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("case sensitive routing", true);
  app.set("strict routing", true); // `/instances/` is not `/instances`: one spelling per resource

  app.use(securityHeaders());
  app.use(requestLogging(logger));
  if (corsOrigins.length) app.use(basePath, corsForOrigins(corsOrigins));

  app.get("/healthz", async (_req, res) => {
    await healthCheck();
    res.status(200).json({ status: "ok" });
  });
  app.use(publishedDocs(spec, docsDir));
  app.use(basePath, authenticateCaller(accounts, new AuthenticationThrottle(rateLimits.authenticationFailuresPerMinute)));
  if (rateLimits.requestsPerMinutePerOrganization !== undefined)
    app.use(basePath, limitOrganizationRequests(rateLimits.requestsPerMinutePerOrganization));
  app.use(basePath, refuseTrailingSlash(), jsonBody(), keepQueryAsSent());

  app.use(
    OpenApiValidator.middleware({
      apiSpec: withHeadOperations(spec) as never,
      validateRequests: { allErrors: false, coerceTypes: false },
      validateResponses: validateResponses ? { allErrors: false, onError: answerSpecViolation } : false,
      validateSecurity: { handlers: { UserOrganization: securityHandler() } },
      ignorePaths: (path: string) => !path.startsWith(`${basePath}/`) && path !== basePath,
      validateFormats: true,
      ajvFormats: { mode: "full" },
    }),
  );
  app.use(basePath, restoreAuthenticationFailure());
  app.use(basePath, restoreQueryAsSent(), rejectNestedQueryKeys(), jsonOnly());
  app.use(basePath, raiseBodyError(), preferBodyError());
  app.use(basePath, explainConnectorErrors(registry));
  app.use(basePath, rejectPollutingKeys());
  app.use(basePath, instancesRouter(instances));
  app.use(basePath, deliveriesRouter(deliveries));
  app.use(basePath, connectorsRouter(registry));
  app.use(notFound());
  app.use(errorHandler());
  return app;
}

/**
 * `/instances/` is not `/instances`: one spelling per resource. Refused before the validator,
 * which would otherwise match it to the path without the slash.
 */
function refuseTrailingSlash(): RequestHandler {
  return (req, _res, next) => {
    next(
      req.path.length > 1 && req.path.endsWith("/")
        ? new NotFoundError(`There is no ${req.method} ${echo(req.originalUrl.split("?")[0]!)}`)
        : undefined,
    );
  };
}

/**
 * The spec's create body is a oneOf over the connectors, so the validator's 400 lists every
 * branch's failure. For create and replace, ask the registry instead: it names the connector's
 * missing or unknown entries, or the first invalid value, in that connector's terms.
 */
function explainConnectorErrors(registry: ConnectorRegistry): ErrorRequestHandler {
  return (error: { status?: number; errors?: { path?: string }[] }, req, _res, next) => {
    const isCreateOrReplace =
      (req.method === "POST" && req.path === "/instances") || (req.method === "PUT" && /^\/instances\/[^/]+$/.test(req.path));
    const aboutBody = error.status === 400 && error.errors?.some((e) => e.path?.startsWith("/body"));
    if (!isCreateOrReplace || !aboutBody) return next(error);
    try {
      registry.checkCreateBody(req.body);
    } catch (explained) {
      return next(explained);
    }
    next(error);
  };
}
