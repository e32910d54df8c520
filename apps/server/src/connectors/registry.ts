// The connector registry: the connectors read from the bundled spec (@instances-api/spec-tools),
// each with validators compiled from its schemas. No connector is named in code.
import {
  pointerOf,
  readConnectors,
  schemaValidator,
  type ConfigurationValues,
  type ConnectorDefinition,
  type ErrorObject,
  type SchemaValidator,
  type ValidateFunction,
} from "@instances-api/spec-tools";
import { closest } from "fastest-levenshtein";
import type { ConnectorBody } from "../api-types.js";
import type { SpecDocument } from "@instances-api/spec-tools";
import { echo, echoedAtMost, invalidPart, InvalidRequestError, listedAtMost, type InvalidPart } from "../errors.js";
import {
  InvalidConfigurationError,
  MissingConfigurationError,
  UnknownConfigurationError,
  UnknownConnectorError,
  type UnknownEntry,
} from "./errors.js";

export type { ConfigurationValues };
export type Connector = ConnectorDefinition;

interface CompiledConnector extends Connector {
  requiredKeys: string[];
  entryKeys: string[];
  knownKeys: Set<string>;
  /** The spec's maxProperties for the configuration, if it sets one. */
  maxEntries: number | undefined;
  validateBody: ValidateFunction;
  validateConfiguration: ValidateFunction;
}

export class ConnectorRegistry {
  private readonly connectors: Map<string, CompiledConnector>;

  constructor(spec: SpecDocument) {
    const validator = schemaValidator(spec);
    this.connectors = new Map(readConnectors(spec).map((connector) => [connector.key, compile(connector, validator)]));
  }

  keys(): string[] {
    return [...this.connectors.keys()];
  }

  all(): Connector[] {
    return [...this.connectors.values()];
  }

  get(key: string): Connector | undefined {
    return this.connectors.get(key);
  }

  /** The connector, or an UnknownConnectorError that lists the known keys. */
  require(key: unknown): Connector {
    return this.compiled(key);
  }

  /** The connector as `GET /your_moms/{key}` shows it. */
  describe(connector: Connector): ConnectorBody {
    return {
      ...connector.catalog,
      configuration: connector.entries,
      configurationSchema: connector.configurationSchema,
    };
  }

  /**
   * Throws the clearest error for a configuration: too many entries, then every missing required
   * entry at once, then unknown entries with the closest known one, then the first invalid value.
   * Its work is bounded whatever the request: it counts the entries before looking at them, and
   * describes only the unknown entries an error lists.
   */
  checkConfiguration(key: string, configuration: unknown): void {
    const connector = this.compiled(key);
    const values = isObject(configuration) ? configuration : {};
    const names = Object.keys(values);
    if (connector.maxEntries !== undefined && names.length > connector.maxEntries) {
      throw new InvalidConfigurationError(key, [
        { path: "/body/configuration", message: `must NOT have more than ${connector.maxEntries} properties` },
      ]);
    }
    const missing = connector.requiredKeys.filter((entry) => values[entry] === undefined || values[entry] === null);
    const unknown = unknownEntries(connector, names);
    if (missing.length) throw new MissingConfigurationError(key, missing, unknown.described, unknown.total);
    if (unknown.total) throw new UnknownConfigurationError(key, unknown.described, unknown.total);
    if (!connector.validateConfiguration(values)) {
      throw new InvalidConfigurationError(key, invalidParts(connector.validateConfiguration.errors, "/body/configuration"));
    }
  }

  /** Throws an UnknownConfigurationError, with the closest known names, if a name is not one of the connector's entries. */
  checkEntryNames(key: string, names: string[]): void {
    const connector = this.compiled(key);
    const unknown = unknownEntries(connector, names);
    if (unknown.total) throw new UnknownConfigurationError(key, unknown.described, unknown.total);
  }

  /**
   * Explains why a create or replace body is invalid, in the terms of the connector it names,
   * rather than as a failure of every branch of the spec's oneOf. Throws; returns if it is valid.
   */
  checkCreateBody(body: unknown): void {
    const key = isObject(body) && isObject(body.your_mom) ? body.your_mom.key : undefined;
    const connector = this.compiled(key);
    if (isObject(body)) this.checkConfiguration(connector.key, body.configuration);
    if (!connector.validateBody(body)) {
      const errors = invalidParts(connector.validateBody.errors, "/body");
      throw new InvalidRequestError(errors.map((e) => `${e.path} ${e.message}`).join("; "), errors);
    }
  }

  private compiled(key: unknown): CompiledConnector {
    const connector = typeof key === "string" ? this.connectors.get(key) : undefined;
    if (!connector) throw new UnknownConnectorError(key, this.keys());
    return connector;
  }
}

function compile(connector: Connector, validator: SchemaValidator): CompiledConnector {
  const schemaParts = ["components", "schemas", connector.schemaName];
  const validateBody = validator.compile(pointerOf(schemaParts));
  const validateConfiguration = validator.compile(pointerOf([...schemaParts, "properties", "configuration"]));
  return {
    ...connector,
    requiredKeys: connector.entries.filter((e) => e.required).map((e) => e.key),
    entryKeys: connector.entries.map((e) => e.key),
    knownKeys: new Set(connector.entries.map((e) => e.key)),
    maxEntries: typeof connector.configurationSchema.maxProperties === "number" ? connector.configurationSchema.maxProperties : undefined,
    validateBody,
    validateConfiguration,
  };
}

/**
 * The unknown names among these: how many, and the first few described (echoed, with the closest
 * known name). Edit distance costs the product of the lengths, so a name longer than any echo
 * gets no suggestion.
 */
function unknownEntries(connector: CompiledConnector, names: string[]): { described: UnknownEntry[]; total: number } {
  const unknown = names.filter((name) => !connector.knownKeys.has(name));
  const described = unknown.slice(0, listedAtMost).map((entry) => {
    const suggestion = entry.length <= echoedAtMost && connector.entryKeys.length ? closest(entry, connector.entryKeys) : undefined;
    return { entry: echo(entry), ...(suggestion === undefined ? {} : { suggestion }) };
  });
  return { described, total: unknown.length };
}

function invalidParts(errors: ErrorObject[] | null | undefined, prefix: string): InvalidPart[] {
  return (errors ?? []).map((error) => invalidPart(`${prefix}${error.instancePath}`, error.message ?? "is invalid"));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
