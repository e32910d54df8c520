// createApp(): the Express application, in one visible order. It never listens; server.ts does.
//   1. security headers (helmet, no-store), request id and the log line, CORS (when set)
//   2. /healthz, and under the base path the vendors' posts to the receiving URLs (vendor-hooks/),
//      which carry their own credential (the URL's secret) and answer every refusal themselves
//   3. before the validator, under the base path: the caller authenticated, with the instance an
//      `Element` token names (failed guesses throttled per address), the per-organization limit
//      (when set), a trailing slash refused, then, for a known caller only, the JSON body (1 MB
//      at most); the query kept as sent
//   4. the spec's validator (routing, security, requests, responses), HEAD beside each GET
//   5. a request it refused: its verdict translated, in one place (http/validator-verdict.ts)
//   6. a request it let through, under the base path: the query as sent again (nested keys
//      refused), JSON-only answers, the request's own held-back errors, keys that could pollute,
//      then the API's routes
//   7. /docs, /openapi.json|yaml (outside the base path, which the validator leaves alone)
//   8. 404 for the rest, then the one error handler
// Steps 3 and 6 are one Router each, mounted once: Express matches the base path once per step,
// not once per middleware. Routing is case-sensitive (`/INSTANCES` is not `/instances`) and
// strict (`/instances/` is not `/instances`); the validator reads the same settings.
import express, { type RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import type { Logger } from "pino";
import type { SpecDocument } from "@instances-api/spec-tools";
import { AuthenticationThrottle } from "./accounts/authentication-throttle.js";
import { authenticateCaller, elementSecurityHandler, securityHandler } from "./accounts/authentication.js";
import type { AccountStore, InstanceTokenStore } from "./accounts/store.js";
import type { ConnectorRegistry } from "./connectors/registry.js";
import { connectorsRouter } from "./connectors/routes.js";
import { answerSpecViolation, errorHandler, notFound } from "./http/error-handler.js";
import { withHeadOperations } from "./http/head-requests.js";
import { jsonBody, raiseBodyError } from "./http/json-body.js";
import { corsForOrigins } from "./http/cors.js";
import { jsonOnly } from "./http/json-only.js";
import { keepQueryAsSent, restoreQueryAsSent } from "./http/parameters-as-sent.js";
import { publishedDocs } from "./http/published-docs.js";
import { limitOrganizationRequests } from "./http/rate-limits.js";
import { rejectNestedQueryKeys, rejectPollutingKeys } from "./http/reject-polluting-keys.js";
import { requestLogging } from "./http/request-logging.js";
import { securityHeaders } from "./http/security-headers.js";
import { translateValidatorVerdict } from "./http/validator-verdict.js";
import type { DeliveriesService } from "./events/deliveries.js";
import { deliveriesRouter } from "./events/routes.js";
import type { InstanceOperations } from "./instances/operations/index.js";
import type { ProxyDeps } from "./proxy/proxy-service.js";
import { isProxyPath, proxyCallsRouter, proxyRouter } from "./proxy/routes.js";
import { instancesRouter } from "./instances/routes.js";
import type { VendorHookEventDeps } from "./vendor-hooks/createVendorHookEvent.js";
import { isVendorHookPath, vendorHooksRouter } from "./vendor-hooks/routes.js";
import { basePathOf } from "./spec.js";
import { echo, NotFoundError } from "./errors.js";
import type { RateLimits } from "./config.js";

export interface AppOptions {
  spec: SpecDocument;
  registry: ConnectorRegistry;
  accounts: AccountStore;
  /** Where the instance an `Element` token names is found (the instances' store). */
  instanceTokens: InstanceTokenStore;
  instances: InstanceOperations;
  /** What the proxy to the vendors' APIs works with. */
  proxy: ProxyDeps;
  /** What the vendors' posts to the receiving URLs work with. */
  vendorHooks: VendorHookEventDeps & { bodyMaxBytes: number };
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
  const { spec, registry, logger, validateResponses, healthCheck, docsDir, corsOrigins } = options;
  const basePath = basePathOf(spec);
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("case sensitive routing", true);
  app.set("strict routing", true); // `/instances/` is not `/instances`: one spelling per resource
  app.set("trust proxy", options.rateLimits.trustProxy); // req.ip, which the per-address throttle counts by (TRUST_PROXY)

  app.use(securityHeaders());
  app.use(requestLogging(logger));
  if (corsOrigins.length) app.use(basePath, corsForOrigins(corsOrigins));

  app.get("/healthz", async (_req, res) => {
    await healthCheck();
    res.status(200).json({ status: "ok" });
  });
  app.use(basePath, vendorHooksRouter(options.vendorHooks)); // a vendor's post: authenticated by its URL's secret alone
  app.use(basePath, beforeValidation(options));
  app.use(
    OpenApiValidator.middleware({
      apiSpec: withHeadOperations(spec) as never,
      validateRequests: { allErrors: false, coerceTypes: false },
      validateResponses: validateResponses ? { allErrors: false, onError: answerSpecViolation } : false,
      validateSecurity: { handlers: { UserOrganization: securityHandler(), UserOrganizationElement: elementSecurityHandler() } },
      ignorePaths: (path: string) =>
        (!path.startsWith(`${basePath}/`) && path !== basePath) ||
        isProxyPath(path.slice(basePath.length)) ||
        isVendorHookPath(path.slice(basePath.length)),
      validateFormats: true,
      ajvFormats: { mode: "full" },
    }),
  );
  app.use(basePath, translateValidatorVerdict(registry));
  app.use(basePath, afterValidation(options));
  app.use(publishedDocs(spec, docsDir)); // after the API: an API request never walks its routes
  app.use(notFound());
  app.use(errorHandler());
  return app;
}

const routerOptions = { caseSensitive: true, strict: true } as const;

/** Step 3: who is calling, how often, and (for a known caller only) what they sent. */
function beforeValidation({ accounts, instanceTokens, rateLimits, proxy }: AppOptions): express.Router {
  const router = express.Router(routerOptions);
  router.use(authenticateCaller(accounts, instanceTokens, new AuthenticationThrottle(rateLimits.authenticationFailuresPerMinute)));
  if (rateLimits.requestsPerMinutePerOrganization !== undefined)
    router.use(limitOrganizationRequests(rateLimits.requestsPerMinutePerOrganization));
  router.use(proxyRouter(proxy)); // its body is a stream for the vendor, and its path spans segments: before both
  router.use(refuseTrailingSlash(), jsonBody(), keepQueryAsSent());
  return router;
}

/** Step 6: what the validator let through, checked for what it cannot see, then routed. */
function afterValidation({ instances, deliveries, registry, proxy }: AppOptions): express.Router {
  const router = express.Router(routerOptions);
  router.use(restoreQueryAsSent(), rejectNestedQueryKeys(), jsonOnly(), raiseBodyError(), rejectPollutingKeys());
  router.use(instancesRouter(instances), deliveriesRouter(deliveries), connectorsRouter(registry), proxyCallsRouter(proxy));
  return router;
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
