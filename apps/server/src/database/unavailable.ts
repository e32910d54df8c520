// What a store throws when its database cannot serve now (down, restarting, the connection lost
// mid-request): a plain error, no HTTP. The HTTP layer answers it with a 503 and Retry-After; the
// cause (the driver's error) is kept for the log.
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super("The database cannot be reached for now", { cause });
    this.name = "DatabaseUnavailableError";
  }
}
