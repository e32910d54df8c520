// What the HTTP edge itself refuses, beyond the shared answers in ../errors.ts.
import { ApiError, problemType } from "../errors.js";

export class NotAcceptableError extends ApiError {
  constructor() {
    super(
      406,
      problemType("not-acceptable"),
      "Not acceptable",
      "This API answers only in JSON: send an Accept header that allows application/json (or */*)",
    );
  }
}
