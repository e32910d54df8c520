// The validator's verdict on a request it refused, translated in this one place into the error
// the caller should see. In order:
//   1. authentication that failed on the server's side (the database away) is that failure (a
//      503), not the 500 the validator gives a security handler that threw; a 401 says why the
//      caller was refused (wrong secrets, a wrong Element token, an operation that needs one),
//      where the validator's says only "unauthorized";
//   2. the request's own error, held back until the validator had routed it (a malformed or
//      oversized body, text that cannot be stored), beats the validator's complaint about the
//      same request, unless that complaint is about routing or authentication (404, 405, 401);
//   3. a create or replace body that fails the spec's oneOf over the connectors is explained in
//      the terms of the connector it names (missing entries at once, did-you-mean for unknown
//      ones), by the registry. Only a body the validator refused is checked again: a valid one
//      is never validated twice.
import type { ErrorRequestHandler, Request } from "express";
import { authenticationRefusal, serverSideAuthenticationFailure } from "../accounts/authentication.js";
import type { ConnectorRegistry } from "../connectors/registry.js";
import { ApiError } from "../errors.js";
import { heldBackRequestError } from "./json-body.js";

interface ValidatorError {
  status?: number;
  errors?: { path?: string }[];
}

const isRoutingOrAuthentication = (status: number | undefined) => status === 401 || status === 404 || status === 405;

/** POST /instances or PUT /instances/{id}: a body that is one connector's create request. */
const takesConnectorBody = (req: Request) =>
  (req.method === "POST" && req.path === "/instances") || (req.method === "PUT" && /^\/instances\/[^/]+$/.test(req.path));

export function translateValidatorVerdict(registry: ConnectorRegistry): ErrorRequestHandler {
  const translated = (error: ValidatorError, req: Request): unknown => {
    const serverSide = serverSideAuthenticationFailure(req.res!);
    if (serverSide !== undefined) return serverSide;
    if (error.status === 401) return authenticationRefusal(req.res!);
    const own = heldBackRequestError(req);
    if (own !== undefined && !isRoutingOrAuthentication(error.status)) return own;
    const validatorRefusedBody =
      !(error instanceof ApiError) && error.status === 400 && error.errors?.some((e) => e.path?.startsWith("/body"));
    if (validatorRefusedBody && takesConnectorBody(req)) {
      try {
        registry.checkCreateBody(req.body);
      } catch (explained) {
        return explained;
      }
    }
    return error;
  };
  return (error: ValidatorError, req, _res, next) => next(translated(error, req));
}
