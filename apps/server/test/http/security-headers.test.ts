// The security headers are helmet's, read once: every response carries exactly what helmet itself
// would have set on it, and no-store.
import type { AddressInfo } from "node:net";
import express, { type RequestHandler } from "express";
import { describe, expect, it } from "vitest";
import { helmetFor, securityHeaders } from "../../src/http/security-headers.js";

async function headersThrough(middleware: RequestHandler): Promise<Record<string, string>> {
  const app = express();
  app.disable("x-powered-by");
  app.use(middleware);
  app.get("/", (_req, res) => {
    res.status(200).json({});
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    const headers = Object.fromEntries(response.headers);
    for (const name of ["date", "connection", "keep-alive", "content-length", "content-type", "etag"]) delete headers[name];
    return headers;
  } finally {
    server.close();
  }
}

describe("security headers", () => {
  it("are what helmet sets on a response, and Cache-Control: no-store", async () => {
    const fromHelmet = await headersThrough(helmetFor());
    expect(Object.keys(fromHelmet).length).toBeGreaterThan(8);
    expect(await headersThrough(securityHeaders())).toEqual({ ...fromHelmet, "cache-control": "no-store" });
  });
});
