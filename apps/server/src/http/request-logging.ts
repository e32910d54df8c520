// One structured log line per request (pino-http): request id, method, path, status, duration.
// The request id is the caller's X-Request-Id when it is sane, else a new UUID, and is returned in
// the X-Request-Id header. Headers and bodies are not logged, and Authorization is redacted should
// a serializer ever include it.
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Logger } from "pino";
import { pinoHttp } from "pino-http";

const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLogging(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const given = req.headers["x-request-id"];
      const id = typeof given === "string" && saneRequestId.test(given) ? given : randomUUID();
      res.setHeader("X-Request-Id", id);
      return id;
    },
    serializers: {
      req: (req: IncomingMessage & { id?: unknown; raw?: IncomingMessage }) => ({
        id: req.id,
        method: req.method,
        url: (req.url ?? "").split("?")[0],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? "error" : "info"),
    // The serializers above keep no header and no body; should one ever be added, these stay out.
    redact: ["req.headers.authorization", "req.headers.cookie"],
  });
}
