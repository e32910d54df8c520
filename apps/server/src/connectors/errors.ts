// What can be wrong with the connector or configuration a request names.
import { ApiError, problemType } from "../errors.js";

export interface UnknownEntry {
  entry: string;
  suggestion?: string;
}

export class UnknownConnectorError extends ApiError {
  constructor(key: unknown, knownKeys: string[]) {
    const named = typeof key === "string" ? `There is no connector "${key}"` : "The request names no connector (your_mom.key)";
    super(400, problemType("unknown-connector"), "Unknown connector", `${named}. Known connectors: ${knownKeys.join(", ")}`, { knownKeys });
  }
}

export class MissingConfigurationError extends ApiError {
  constructor(connector: string, missingEntries: string[], unknownEntries: UnknownEntry[]) {
    super(
      400,
      problemType("missing-configuration"),
      "Missing configuration entries",
      `${connector} is missing required configuration entries: ${missingEntries.join(", ")}`,
      { connector, missingEntries, ...(unknownEntries.length ? { unknownEntries } : {}) },
    );
  }
}

export class UnknownConfigurationError extends ApiError {
  constructor(connector: string, unknownEntries: UnknownEntry[]) {
    const described = unknownEntries
      .map(({ entry, suggestion }) => `"${entry}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`)
      .join(", ");
    const noun = unknownEntries.length === 1 ? "configuration entry" : "configuration entries";
    super(400, problemType("unknown-configuration"), "Unknown configuration entries", `${connector} has no ${noun} ${described}`, {
      connector,
      unknownEntries,
    });
  }
}

export class InvalidConfigurationError extends ApiError {
  constructor(connector: string, errors: { path: string; message: string }[]) {
    const first = errors[0];
    const message = first ? `${connector} configuration is invalid: ${first.path} ${first.message}` : `${connector} configuration is invalid`;
    super(400, problemType("invalid-configuration"), "Invalid configuration", message, { connector, errors });
  }
}
