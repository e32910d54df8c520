// Reads the connectors out of the bundled spec: every component schema that carries
// `x-connector` is one. Everything about a connector comes from there (spec/README.md documents
// the extension), so the server and the docs describe the same connectors the same way.

import type { JsonObject as Schema, SpecDocument } from "./document.js";
import { dereferenced, resolveRef, walk } from "./json-pointer.js";

export type ConfigurationValues = Record<string, string | null>;

/** A connector's catalog data, as in an instance's `your_mom`. */
export interface ConnectorCatalog {
  id: number;
  name: string;
  key: string;
  description: string;
  image?: string;
  active: boolean;
  deleted: boolean;
  typeOauth: boolean;
  trialAccount: boolean;
  resources?: unknown[];
  configDescription?: string;
  signupURL?: string;
}

/** A configuration entry a caller may set. */
export interface ConfigurationEntry {
  key: string;
  label: string;
  description: string;
  type: "string" | "boolean" | "integer" | "number";
  required: boolean;
  secret: boolean;
  default?: string | null;
}

export interface ConnectorDefinition {
  key: string;
  /** The component's name in the bundle (`FreshserviceInstanceRequest`). */
  schemaName: string;
  /** The create-request schema's own description. */
  description: string;
  catalog: ConnectorCatalog;
  /** Required entries first, then the optional ones, each in the spec's order. */
  entries: ConfigurationEntry[];
  /** The JSON Schema of `configuration`, with every `$ref` resolved. */
  configurationSchema: Schema;
  /** Entries the platform adds to every instance (x-connector.platformConfiguration). */
  platformConfiguration: ConfigurationValues;
  /** The defaults of optional entries. */
  defaults: ConfigurationValues;
  /** Entries that are credentials: the caller's `writeOnly` ones and the platform's secrets. */
  secretKeys: ReadonlySet<string>;
  /** How the platform checks the credentials with the vendor (x-connector.credentialCheck). */
  credentialCheck: CredentialCheck;
  /** How an application's requests reach the vendor's own API through the proxy (x-connector.api). */
  api: ConnectorApi;
  /** How changes in the vendor's data become events (x-connector.events). */
  events: ConnectorEvents;
}

/**
 * How changes in the vendor's data become events, as spec/README.md documents `x-connector.events`:
 * by polling the vendor's API (`api`) for each watched resource's records changed since a
 * checkpoint, or not at all, with the reason.
 */
export type ConnectorEvents = PollingEvents | NoEvents;

export interface PollingEvents {
  type: "polling";
  /** The resources watched when the instance's `event.poller.configuration` is blank. */
  resources: string[];
  /** Appended to the API's base URL; `{resource}` is the watched resource. */
  path: string;
  /**
   * The query of one page: names and values are templates over the configuration and the poll's
   * own values, `{since}` (the checkpoint, ISO 8601 to the second, in UTC), `{operator}` (the
   * vendor's word for the instance's `bulk.query.operator`), and where the page starts:
   * `{offset}` (records to skip) or `{page}` (its number, from 1).
   */
  query: Record<string, string>;
  /**
   * The vendor's word for each comparison `bulk.query.operator` may name. Absent: the vendor's
   * filter has no operator and is not known to include the checkpoint's own second, so the poll
   * asks from the second before it (as for `>`).
   */
  operators?: Record<string, string>;
  /**
   * Whether the listing is ordered by change time, oldest first: then each page moves the
   * checkpoint. Otherwise the checkpoint moves only once the whole listing has been read, each
   * page's events committed with the page reached.
   */
  orderedByChange: boolean;
  /** A JSON pointer into the answer to the page's records; `{resource}` is the watched resource. */
  records: string;
  /**
   * How a next page is known: `nextOffset`, a JSON pointer into the answer to the next offset
   * (negative or absent at the end); or `nextPage: link-header`, an RFC 8288 `Link` header naming
   * `rel="next"` (absent at the end).
   */
  nextOffset?: string;
  nextPage?: "link-header";
  /** The field of a record holding its id; templates naming the fields of its creation and change times. */
  recordId: string;
  createdTime: string;
  modifiedTime: string;
  /** How the vendor's own webhooks are set up, where it has an API for them (event.vendor.type `webhook`). */
  webhooks?: VendorWebhooks;
}

/**
 * The vendor's webhooks as the platform registers them, one per watched resource, in its API
 * (`api`, with the instance's credentials): paths appended to the API's base URL; in `register`'s
 * body, `{resource}` is the watched resource and `{receivingUrl}` the instance's receiving URL;
 * in `remove`'s path, `{hookId}` the id the registration answered.
 */
export interface VendorWebhooks {
  register: { method: "POST"; path: string; body: Record<string, string>; hookId: string };
  remove: { method: "DELETE"; path: string };
  /** JSON pointer into what the vendor posts: the changed record. */
  record: string;
}

/** The vendor's changes are not polled; `reason` says why. */
export interface NoEvents {
  type: "none";
  reason: string;
}

/**
 * The vendor's API as the proxy calls it, as spec/README.md documents `x-connector.api`: a base
 * URL template (over the configuration, like a credential check's) that each proxied path is
 * appended to, and how every proxied request carries the credentials. Its origin must be the one
 * the credential check is sent to: stored credentials go only where the vendor accepted them.
 */
export type ConnectorApi = HttpApi | NoApi;

export interface HttpApi {
  type: "http";
  /** `https://{site.url}/rest/v10`: the proxied path is appended to it. */
  baseUrl: string;
  /** How each proxied request carries the credentials; a template may name a token the vendor issued. */
  auth: CredentialAuth;
}

/** The vendor has no API the platform can call; `reason` says why (the proxy answers it). */
export interface NoApi {
  type: "none";
  reason: string;
}

/**
 * How an instance's credentials are checked with the vendor, as spec/README.md documents
 * `x-connector.credentialCheck`. Strings in it are templates over the instance's configuration:
 * `{subdomain}` is the entry's value (a value that is itself a template is expanded in turn).
 */
export type CredentialCheck = RequestCheck | OAuth2PasswordCheck | NoCheck;

/** One request; the answer's status says whether the vendor accepted the credentials. */
export interface RequestCheck {
  type: "request";
  method: "GET" | "POST";
  url: string;
  auth: CredentialAuth;
  /** Statuses that mean the credentials were accepted, and refused; any other is the vendor's own fault. */
  accepted: number[];
  refused: number[];
  /**
   * For a vendor that answers a refusal inside a 200 (Taxify's `{"d": {"ResponseStatus": 0, "Errors": [...]}}`):
   * an accepted status is an acceptance only when the JSON value at `pointer` (RFC 6901) equals
   * `equals`, and a refusal otherwise, with the message at `messagePointer` when there is one.
   */
  acceptedBody?: { pointer: string; equals: string | number | boolean; messagePointer?: string };
}

/** How a request carries the credentials. */
export type CredentialAuth =
  | { type: "basic"; username: string; password: string }
  | { type: "bearer"; token: string }
  | { type: "header"; name: string; value: string }
  /**
   * In a JSON body: a template object whose string values are expanded. With `under: operation`
   * it goes under the key named after the request path's last segment, as an ASMX JSON service
   * (Taxify's) names a request's root after the operation it calls: `POST …/CalculateTax` with
   * `{"CalculateTax": {"Security": {...}}}`.
   */
  | { type: "body"; json: Record<string, unknown>; under?: "operation" };

/** The OAuth 2.0 password grant (RFC 6749 §4.3); the tokens it issues are kept and refreshed (§6). */
export interface OAuth2PasswordCheck {
  type: "oauth2-password";
  tokenUrl: string;
  /** How the grant's parameters are sent: a form (RFC 6749's) or a JSON object (SugarCRM's). */
  bodyEncoding: "form" | "json";
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  /** Further parameters of the vendor's (SugarCRM's `platform`). */
  parameters?: Record<string, string>;
  /** The configuration entries the issued tokens are kept in. */
  tokens: { accessToken: string; refreshToken: string; issuedAt: string; refreshInterval?: string };
  accepted: number[];
  refused: number[];
}

/** No remote check exists; `reason` says why. */
export interface NoCheck {
  type: "none";
  reason: string;
}

interface ConnectorExtension {
  catalog: Omit<ConnectorCatalog, "key">;
  platformConfiguration?: ConfigurationValues;
  platformSecrets?: string[];
  credentialCheck?: CredentialCheck;
  api?: ConnectorApi;
  events?: ConnectorEvents;
}

/** Every connector in the spec, by key. */
export function readConnectors(spec: SpecDocument): ConnectorDefinition[] {
  return Object.entries(spec.components.schemas)
    .filter(([, schema]) => "x-connector" in schema)
    .map(([name, schema]) => readConnector(name, schema, spec))
    .sort((a, b) => a.key.localeCompare(b.key));
}

function readConnector(schemaName: string, schema: Schema, spec: SpecDocument): ConnectorDefinition {
  const extension = schema["x-connector"] as ConnectorExtension;
  const properties = schema.properties as Record<string, Schema>;
  const connectorSchema = resolveRef<Schema | undefined>(spec, properties.your_mom);
  const key = resolveRef<Record<string, Schema> | undefined>(spec, connectorSchema?.properties)?.key?.const;
  if (typeof key !== "string") throw new Error(`spec: ${schemaName} has x-connector but no your_mom.key const`);

  const configurationSchema = dereferenced<Schema>(spec, properties.configuration);
  const entrySchemas = (configurationSchema.properties ?? {}) as Record<string, Schema>;
  const required = (configurationSchema.required ?? []) as string[];
  const entries: ConfigurationEntry[] = Object.entries(entrySchemas)
    .map(([entry, entrySchema]) => ({
      key: entry,
      label: typeof entrySchema.title === "string" ? entrySchema.title : entry,
      description: typeof entrySchema.description === "string" ? entrySchema.description.trim() : "",
      type: (entrySchema.type ?? "string") as ConfigurationEntry["type"],
      required: required.includes(entry),
      secret: entrySchema.writeOnly === true,
      ...(entrySchema.default !== undefined ? { default: entrySchema.default as string } : {}),
    }))
    .sort((a, b) => Number(b.required) - Number(a.required));

  const { id, name, ...catalog } = extension.catalog;
  return {
    key,
    schemaName,
    description: typeof schema.description === "string" ? schema.description.trim() : "",
    catalog: { id, name, key, ...catalog },
    entries,
    configurationSchema,
    platformConfiguration: { ...extension.platformConfiguration },
    defaults: Object.fromEntries(entries.filter((e) => e.default !== undefined).map((e) => [e.key, e.default ?? null])),
    secretKeys: new Set([...entries.filter((e) => e.secret).map((e) => e.key), ...(extension.platformSecrets ?? [])]),
    credentialCheck: extension.credentialCheck ?? { type: "none", reason: "the spec declares no credential check" },
    api: extension.api ?? { type: "none", reason: "the spec declares no API for this connector" },
    events: extension.events ?? { type: "none", reason: "the spec declares no events from this vendor's data" },
  };
}

/** A create request the spec gives as an example, for one connector. */
export interface CreateExample {
  key: string;
  /** The example's name in the spec (`taxify`, `sugarcrmv2`, ...). */
  name: string;
  body: { your_mom: { key: string }; configuration: Record<string, string>; tags?: string[]; name: string };
}

/**
 * The request examples of `POST /instances`, one per connector: the guides' requests with their
 * placeholders filled in (the spec's tests hold them equal to the guides). Fixtures that need no
 * copy of the guides beside the repository.
 */
export function readCreateExamples(spec: SpecDocument): CreateExample[] {
  const examples = walk<Record<string, unknown> | undefined>(spec, [
    "paths",
    "/instances",
    "post",
    "requestBody",
    "content",
    "application/json",
    "examples",
  ]);
  return Object.entries(examples ?? {})
    .map(([name, example]) => {
      const body = resolveRef<Schema>(spec, example).value as CreateExample["body"];
      return { key: body.your_mom.key, name, body: structuredClone(body) };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}
