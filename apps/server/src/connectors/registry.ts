// The connector registry, read from the bundled spec at start: every component schema that carries
// `x-connector` is a connector. Its key, catalog data, configuration entries (required, secret,
// default), platform entries and validators all come from the spec; no connector is named in code.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { closest } from "fastest-levenshtein";
import type { ConfigurationEntry, ConnectorBody, ConnectorSummary, OpenApiDocument } from "../api-types.js";
import { InvalidRequestError, type InvalidPart } from "../errors.js";
import {
  InvalidConfigurationError,
  MissingConfigurationError,
  UnknownConfigurationError,
  UnknownConnectorError,
} from "./errors.js";

type Schema = Record<string, unknown>;
export type ConfigurationValues = Record<string, string | null>;

interface ConnectorExtension {
  catalog: Omit<ConnectorSummary, "key">;
  platformConfiguration?: ConfigurationValues;
  platformSecrets?: string[];
}

export interface Connector {
  key: string;
  catalog: ConnectorSummary;
  entries: ConfigurationEntry[];
  /** The JSON Schema of `configuration`, with every `$ref` resolved. */
  configurationSchema: Schema;
  /** Entries the platform adds to every instance (x-connector.platformConfiguration). */
  platformConfiguration: ConfigurationValues;
  /** The defaults of optional entries. */
  defaults: ConfigurationValues;
  /** Entries that are credentials: the caller's `writeOnly` ones and the platform's secrets. */
  secretKeys: ReadonlySet<string>;
}

interface CompiledConnector extends Connector {
  requiredKeys: string[];
  entryKeys: string[];
  validateBody: ValidateFunction;
  validateConfiguration: ValidateFunction;
}

export class ConnectorRegistry {
  private readonly connectors: Map<string, CompiledConnector>;

  constructor(spec: OpenApiDocument) {
    const ajv = new Ajv2020({ strict: false, allErrors: false, validateSchema: false });
    addFormats.default(ajv);
    ajv.addSchema(spec, "openapi.json");
    const deref = dereferencer(spec);
    const found = Object.entries(spec.components.schemas)
      .filter(([, schema]) => "x-connector" in schema)
      .map(([name, schema]) => compileConnector(name, schema, deref, ajv))
      .sort((a, b) => a.key.localeCompare(b.key));
    this.connectors = new Map(found.map((c) => [c.key, c]));
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
    const connector = typeof key === "string" ? this.connectors.get(key) : undefined;
    if (!connector) throw new UnknownConnectorError(key, this.keys());
    return connector;
  }

  /** The connector as `GET /your_moms/{key}` shows it. */
  describe(connector: Connector): ConnectorBody {
    return {
      ...connector.catalog,
      configuration: connector.entries,
      configurationSchema: connector.configurationSchema as ConnectorBody["configurationSchema"],
    };
  }

  /**
   * Throws the clearest error for a configuration: every missing required entry at once, then
   * unknown entries with the closest known one, then the first invalid value.
   */
  checkConfiguration(key: string, configuration: unknown): void {
    const connector = this.compiled(key);
    const values = isObject(configuration) ? configuration : {};
    const missing = connector.requiredKeys.filter((entry) => values[entry] === undefined || values[entry] === null);
    const unknown = Object.keys(values)
      .filter((entry) => !connector.entryKeys.includes(entry))
      .map((entry) => ({ entry, suggestion: closest(entry, connector.entryKeys) }));
    if (missing.length) throw new MissingConfigurationError(key, missing, unknown);
    if (unknown.length) throw new UnknownConfigurationError(key, unknown);
    if (!connector.validateConfiguration(values)) {
      throw new InvalidConfigurationError(key, invalidParts(connector.validateConfiguration.errors, "/body/configuration"));
    }
  }

  /**
   * Explains why a create or replace body is invalid, in the terms of the connector it names,
   * rather than as a failure of every branch of the spec's oneOf. Throws; returns if it is valid.
   */
  checkCreateBody(body: unknown): void {
    const key = isObject(body) && isObject(body.your_mom) ? body.your_mom.key : undefined;
    const connector = this.compiled(this.require(key).key);
    if (isObject(body)) this.checkConfiguration(connector.key, body.configuration);
    if (!connector.validateBody(body)) {
      const errors = invalidParts(connector.validateBody.errors, "/body");
      throw new InvalidRequestError(errors.map((e) => `${e.path} ${e.message}`).join("; "), errors);
    }
  }

  private compiled(key: string): CompiledConnector {
    const connector = this.connectors.get(key);
    if (!connector) throw new UnknownConnectorError(key, this.keys());
    return connector;
  }
}

function compileConnector(name: string, schema: Schema, deref: (node: unknown) => Schema, ajv: Ajv2020): CompiledConnector {
  const extension = schema["x-connector"] as ConnectorExtension;
  const properties = schema.properties as Record<string, Schema>;
  const key = (deref(deref(properties.your_mom).properties) as Record<string, Schema>).key?.const;
  if (typeof key !== "string") throw new Error(`spec: ${name} has x-connector but no your_mom.key const`);

  const configurationSchema = deepDeref(properties.configuration, deref);
  const entrySchemas = (configurationSchema.properties ?? {}) as Record<string, Schema>;
  const requiredKeys = (configurationSchema.required ?? []) as string[];
  const entries: ConfigurationEntry[] = Object.entries(entrySchemas)
    .map(([entry, entrySchema]) => ({
      key: entry,
      label: typeof entrySchema.title === "string" ? entrySchema.title : entry,
      description: typeof entrySchema.description === "string" ? entrySchema.description.trim() : "",
      type: (entrySchema.type ?? "string") as ConfigurationEntry["type"],
      required: requiredKeys.includes(entry),
      secret: entrySchema.writeOnly === true,
      ...(entrySchema.default !== undefined ? { default: entrySchema.default as string } : {}),
    }))
    .sort((a, b) => Number(b.required) - Number(a.required));

  const pointer = `openapi.json#/components/schemas/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  const validateBody = ajv.getSchema(pointer);
  const validateConfiguration = ajv.getSchema(`${pointer}/properties/configuration`);
  if (!validateBody || !validateConfiguration) throw new Error(`spec: cannot compile ${name}`);

  const { id, name: connectorName, ...catalog } = extension.catalog;
  return {
    key,
    catalog: { id, name: connectorName, key, ...catalog },
    entries,
    configurationSchema,
    platformConfiguration: { ...extension.platformConfiguration },
    defaults: Object.fromEntries(entries.filter((e) => e.default !== undefined).map((e) => [e.key, e.default ?? null])),
    secretKeys: new Set([...entries.filter((e) => e.secret).map((e) => e.key), ...(extension.platformSecrets ?? [])]),
    requiredKeys,
    entryKeys: entries.map((e) => e.key),
    validateBody,
    validateConfiguration,
  };
}

function invalidParts(errors: ErrorObject[] | null | undefined, prefix: string): InvalidPart[] {
  return (errors ?? []).map((error) => ({ path: `${prefix}${error.instancePath}`, message: error.message ?? "is invalid" }));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Resolves one local `$ref` (`#/components/...`) of the bundle. */
function dereferencer(spec: OpenApiDocument): (node: unknown) => Schema {
  return (node) => {
    const ref = isObject(node) ? node.$ref : undefined;
    if (typeof ref !== "string") return node as Schema;
    return ref
      .slice(2)
      .split("/")
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce<unknown>((at, part) => (at as Record<string, unknown>)[part], spec) as Schema;
  };
}

/** A copy of a schema with every `$ref` in it resolved (the spec's schemas have no cycles). */
function deepDeref(node: unknown, deref: (node: unknown) => Schema): Schema {
  const resolved = deref(node);
  if (Array.isArray(resolved)) return resolved.map((item) => deepDeref(item, deref)) as unknown as Schema;
  if (!isObject(resolved)) return resolved;
  return Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, isObject(v) || Array.isArray(v) ? deepDeref(v, deref) : v]));
}
