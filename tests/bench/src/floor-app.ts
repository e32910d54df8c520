// The validator's floor: Express and express-openapi-validator on our own bundled spec, set up as
// the reference server sets it up (requests validated, formats checked, the security scheme's
// handler called), answering each route with a constant body: the bytes our server answered.
// What our server does beyond this is its own work. `node dist/floor-app.js <port> <bodies.json>`.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import express from "express";
import * as OpenApiValidator from "express-openapi-validator";

const require = createRequire(import.meta.url);
const base = "/your_moms/api-v2";
const bodies = JSON.parse(readFileSync(process.argv[3]!, "utf8")) as { create: string; get: string; list: string; list20: string };

const schemeRefusal = Object.assign(new Error("the caller does not satisfy this security scheme"), { status: 401 });

const app = express();
app.use(express.json({ limit: "1mb" }));
app.use(
  OpenApiValidator.middleware({
    apiSpec: require.resolve("@instances-api/spec/openapi.json"),
    validateRequests: { allErrors: false, coerceTypes: false },
    validateResponses: false,
    // Both schemes, as the reference server has them: a caller without an instance token fails the
    // Element one with an error made once (a missing handler would cost an error built per request).
    validateSecurity: {
      handlers: {
        UserOrganization: () => true,
        UserOrganizationElement: () => {
          throw schemeRefusal;
        },
      },
    },
    validateFormats: true,
    ajvFormats: { mode: "full" },
  }),
);
const send = (body: string) => (_req: express.Request, res: express.Response) => {
  res.status(200).type("application/json").send(body);
};
app.post(`${base}/instances`, send(bodies.create));
app.get(`${base}/instances/:id`, send(bodies.get));
app.get(`${base}/instances`, (req, res) => send(req.query.pageSize === "20" ? bodies.list20 : bodies.list)(req, res));
app.use(((error: { status?: number; message?: string }, _req, res, _next) => {
  res.status(error.status ?? 500).json({ message: error.message });
}) as express.ErrorRequestHandler);
const server = app.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
