// What can go wrong with a request about instances, beyond the connector's configuration.
import { ApiError, listed, problemType, TooManyRequestsError } from "../errors.js";

export class IdempotencyKeyReusedError extends ApiError {
  constructor() {
    super(
      422,
      problemType("idempotency-key-reused"),
      "Idempotency key reused",
      "This Idempotency-Key was already used with another request body; use a new key for a new request",
    );
  }
}

export class ConnectorMismatchError extends ApiError {
  constructor(current: string, requested: string) {
    super(
      400,
      problemType("connector-mismatch"),
      "Connector cannot change",
      `This instance is a ${current} instance; a replacement cannot make it ${requested}. Create a new instance instead`,
      { connector: current },
    );
  }
}

export class WriteConflictError extends ApiError {
  constructor() {
    super(409, problemType("write-conflict"), "Write conflict", "The instance kept changing while this request tried to update it; retry");
  }
}

export class IdempotentInstanceDeletedError extends ApiError {
  constructor(id: number) {
    super(
      409,
      problemType("idempotent-instance-deleted"),
      "Instance deleted since",
      `This Idempotency-Key created instance ${id}, which has been deleted since; use a new key to create another`,
      { instanceId: id },
    );
  }
}

/**
 * A change moves the address the stored secrets are sent to (SugarCRM's site.url, Freshservice's
 * subdomain) without sending them again: they were accepted at one address and go nowhere else.
 */
export class CredentialsRequiredError extends ApiError {
  constructor(connector: string, missingEntries: string[]) {
    super(
      400,
      problemType("credentials-required"),
      "Credentials required",
      `This change moves where ${connector}'s credentials are checked; send ${listed(missingEntries)} again in the same request, as stored secrets go only where they were accepted`,
      { connector, missingEntries },
    );
  }
}

/** A check of this instance's credentials is under way, or the last one was too recent. */
export class VerifyTooSoonError extends TooManyRequestsError {
  constructor(retryAfterSeconds: number) {
    super(
      `This instance's credentials were checked moments ago, or a check or a token refresh is under way; retry in ${retryAfterSeconds} s`,
      retryAfterSeconds,
    );
  }
}
