// HTTP for the proxy: /instances/{id}/proxy/{vendor path} (the organization's header) and
// /instance/proxy/{vendor path} (the Element form). Mounted before the spec's validator, which
// cannot route a path parameter that spans segments, and before the JSON body parser: the body
// is the vendor's business and goes on as a stream. So this router checks the caller itself,
// as the validator's security step would, and answers every refusal as a Problem.
import { finished as streamFinished } from "node:stream";
import { Router, type Request, type Response } from "express";
import { authenticationRefusal, callerOf, isAuthenticated, serverSideAuthenticationFailure } from "../accounts/authentication.js";
import { parseAuthorization } from "../accounts/accounts.js";
import { ApiError, problemType } from "../errors.js";
import { parseIntegerParameter } from "../http/parameters-as-sent.js";
import type { ProxyDeps } from "./proxy-service.js";
import { proxyInstanceRequest } from "./proxy-service.js";
import { find } from "../instances/operations/sealed-instance.js";

const byId = /^\/instances\/([^/]*)\/proxy\/(.*)$/s;
const byToken = /^\/instance\/proxy\/(.*)$/s;
/** Whether a path under the base path is the proxy's (the validator leaves those alone). */
export function isProxyPath(path: string): boolean {
  return byId.test(path) || byToken.test(path);
}

const methods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]);

export function proxyRouter(deps: ProxyDeps): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.use((req, res, next) => {
    const matchedId = byId.exec(req.path);
    const matchedToken = matchedId ? undefined : byToken.exec(req.path);
    if (!matchedId && !matchedToken) return next();
    void proxied(deps, req, res, matchedId ? { id: matchedId[1]!, path: matchedId[2]! } : { path: matchedToken![1]! }).catch(next);
  });
  return router;
}

async function proxied(deps: ProxyDeps, req: Request, res: Response, target: { id?: string; path: string }): Promise<void> {
  const failure = serverSideAuthenticationFailure(res);
  if (failure) throw failure as Error; // the database away: answered 503 by the error handler
  if (!isAuthenticated(res)) throw authenticationRefusal(res);
  const caller = callerOf(req);
  if (!methods.has(req.method)) {
    res.set("Allow", [...methods].join(", "));
    throw new ApiError(405, problemType("method-not-allowed"), "Method not allowed", `A proxied request may be ${[...methods].join(", ")}`);
  }
  let id: number;
  if (target.id === undefined) {
    if (caller.instanceId === undefined) throw authenticationRefusal(res);
    id = caller.instanceId;
  } else id = parseIntegerParameter(target.id, "/path/id");

  const credentials = parseAuthorization(req.get("Authorization"));
  const callerSecrets = [credentials?.userSecret, credentials?.organizationSecret, credentials?.instanceToken].filter(
    (secret): secret is string => typeof secret === "string" && secret.length >= 8,
  );
  const gone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort();
  });
  const query = req.originalUrl.indexOf("?");
  const answer = await proxyInstanceRequest(deps, caller, id, {
    method: req.method,
    vendorPath: target.path,
    search: query === -1 ? "" : req.originalUrl.slice(query),
    headers: req.headers,
    body: req,
    callerSecrets,
    signal: gone.signal,
  });
  res.status(answer.status);
  // The platform's headers, set before this (security-headers.ts's Cache-Control: no-store, CSP,
  // X-Frame-Options, nosniff..., X-Request-Id, CORS), stay the platform's: the answer is served
  // from its origin, and a vendor's `Cache-Control: public` would let a shared cache keep one
  // tenant's answer and serve it to another (`/instance/proxy/...` is one URL for every tenant).
  for (const [name, value] of Object.entries(answer.headers)) if (!res.hasHeader(name)) res.setHeader(name, value);
  let recorded = false;
  const finish = (aborted: boolean) => {
    if (recorded) return;
    recorded = true;
    answer.finish(aborted);
  };
  res.once("close", () => finish(!res.writableFinished));
  // pipe() and finished() rather than pipeline(): pipeline makes and aborts an AbortController
  // (a DOMException) for every answer, about 3 % of a proxied call's CPU in a profile.
  answer.body.pipe(res);
  streamFinished(answer.body, (error) => {
    if (!error) return;
    res.destroy(); // the caller sees the answer cut short: its status and headers are sent already
    finish(true);
  });
  res.once("finish", () => finish(false));
}

/** GET /instances/{id}/proxy-calls: the instance's last proxied calls on this replica (recent-calls.ts says why there). */
export function proxyCallsRouter(deps: ProxyDeps): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get("/instances/:id/proxy-calls", async (req, res) => {
    const caller = callerOf(req);
    const record = await find(deps, caller, parseIntegerParameter(req.params.id, "/path/id"));
    res.status(200).json(deps.recentCalls.read(caller.organizationId, record.id));
  });
  return router;
}
