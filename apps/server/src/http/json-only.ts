// The API answers in JSON only (application/json, and application/problem+json for errors). A
// request whose Accept header allows neither gets the spec's 406 rather than JSON it said it
// cannot read. No Accept header, or */*, accepts JSON.
import type { RequestHandler } from "express";
import { NotAcceptableError } from "./errors.js";

export function jsonOnly(): RequestHandler {
  return (req, _res, next) => {
    if (!req.accepts(["application/json", "application/problem+json"])) throw new NotAcceptableError();
    next();
  };
}
