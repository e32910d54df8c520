// What a store throws when its database cannot serve now (down, restarting, the connection lost
// mid-request): a plain error, no HTTP. The HTTP layer answers it with a 503 and Retry-After; the
// cause (the driver's error) is kept for the log.
export class DatabaseUnavailableError extends Error {
  /** `message` is for the caller: it names no host, file or driver detail. */
  constructor(cause: unknown, message = "The database cannot be reached for now; retry later") {
    super(message, { cause });
    this.name = "DatabaseUnavailableError";
  }
}
