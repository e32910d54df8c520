// The one builder of the spec's Problem body (application/problem+json, RFC 9457 plus the
// platform's `message` and `requestId`): the error handler, the response check and the raw-socket
// answers of server.ts all send what this returns.
import type { Problem } from "../api-types.js";
import type { ApiError } from "../errors.js";

export function problemBody(error: ApiError, requestId: string): Problem {
  return {
    type: error.problemType,
    title: error.title,
    status: error.status,
    detail: error.message,
    message: error.message,
    requestId,
    ...error.fields,
  };
}
