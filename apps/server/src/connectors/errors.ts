// What can be wrong with the connector or configuration a request names. Names the request sent
// are echoed cut (errors.ts says why), and only the first few unknown entries are described.
import { ApiError, echo, listed, problemType } from "../errors.js";

export interface UnknownEntry {
  entry: string;
  suggestion?: string;
}

export class UnknownConnectorError extends ApiError {
  constructor(key: unknown, knownKeys: string[]) {
    const named = typeof key === "string" ? `There is no connector "${echo(key)}"` : "The request names no connector (your_mom.key)";
    super(400, problemType("unknown-connector"), "Unknown connector", `${named}. Known connectors: ${knownKeys.join(", ")}`, { knownKeys });
  }
}

export class MissingConfigurationError extends ApiError {
  constructor(connector: string, missingEntries: string[], unknownEntries: UnknownEntry[], unknownTotal = unknownEntries.length) {
    super(
      400,
      problemType("missing-configuration"),
      "Missing configuration entries",
      `${connector} is missing required configuration entries: ${listed(missingEntries)}`,
      {
        connector,
        missingEntries,
        ...(unknownEntries.length ? { unknownEntries } : {}),
        ...(unknownTotal > unknownEntries.length ? { unknownEntriesTotal: unknownTotal } : {}),
      },
    );
  }
}

export class UnknownConfigurationError extends ApiError {
  /** `unknownEntries`: the first ones (at most `listedAtMost`, names already echoed); `total`: how many there were. */
  constructor(connector: string, unknownEntries: UnknownEntry[], total = unknownEntries.length) {
    const described = unknownEntries.map(({ entry, suggestion }) => `"${entry}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`);
    const noun = total === 1 ? "configuration entry" : "configuration entries";
    super(
      400,
      problemType("unknown-configuration"),
      "Unknown configuration entries",
      `${connector} has no ${noun} ${listed(described, total)}`,
      {
        connector,
        unknownEntries,
        ...(total > unknownEntries.length ? { unknownEntriesTotal: total } : {}),
      },
    );
  }
}

export class InvalidConfigurationError extends ApiError {
  constructor(connector: string, errors: { path: string; message: string }[]) {
    const first = errors[0];
    const message = first
      ? `${connector} configuration is invalid: ${first.path} ${first.message}`
      : `${connector} configuration is invalid`;
    super(400, problemType("invalid-configuration"), "Invalid configuration", message, { connector, errors });
  }
}
