// What can go wrong with a request about instances, beyond the connector's configuration.
import { ApiError, problemType } from "../errors.js";

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
