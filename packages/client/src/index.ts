// @instances-api/client: a typed client for the instances API. The types are generated from the
// spec (src/generated/schema.ts); the calls go through openapi-fetch. Nothing here restates what
// the spec says: this file only names the types users reach for, sets the Authorization header,
// and walks the list's pages.
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { $Write, components, operations, paths as generatedPaths, Readable, Writable } from "./generated/schema.js";

export type { components, operations };

type Schemas = components["schemas"];

// Secrets in responses. The spec marks each connector's secret entries writeOnly in its request
// schema; a response's `configuration` is a string map in which the server masks them. These types
// carry that over: in responses, every secret entry is typed as the mask, never as a readable value.
type RawConfigurations = Schemas["CreateInstanceRequest"]["configuration"];
type SecretEntryOf<C> = { [E in keyof C]-?: NonNullable<C[E]> extends $Write<unknown> ? E : never }[keyof C];
/** Every configuration entry that is a secret in some connector (write-only in requests). */
export type SecretEntry = RawConfigurations extends infer C ? (C extends unknown ? SecretEntryOf<C> : never) : never;
/** A response's `configuration`: secret entries read `********`; the others are strings (or null). */
export type MaskedConfiguration = { readonly [E in SecretEntry]?: "********" } & { readonly [key: string]: string | null };
type ResponseInstance = Omit<Schemas["Instance"], "configuration"> & { configuration?: MaskedConfiguration };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type MaskSecrets<T> =
  Same<T, Schemas["Instance"]> extends true
    ? ResponseInstance
    : T extends (infer E)[]
      ? MaskSecrets<E>[]
      : T extends object
        ? { [K in keyof T]: MaskSecrets<T[K]> }
        : T;
/** The API's paths, as generated, with every response instance's secrets typed as masked. */
export type paths = MaskSecrets<generatedPaths>;

/** An instance, as responses carry it (secret entries of `configuration` read `********`). */
export type Instance = Readable<ResponseInstance>;
/** A create (or replace) request: `your_mom.key` chooses the connector and its `configuration`. */
export type CreateInstanceRequest = Writable<Schemas["CreateInstanceRequest"]>;
/** A partial update (PATCH). */
export type UpdateInstanceRequest = Writable<Schemas["UpdateInstanceRequest"]>;
/** The keys of the connectors the spec describes. */
export type ConnectorKey = CreateInstanceRequest["your_mom"]["key"];
/** The create request of one connector. */
export type CreateInstanceRequestOf<K extends ConnectorKey> = Extract<CreateInstanceRequest, { your_mom: { key: K } }>;
/** One connector's `configuration`: its required entries are required, unknown entries are not allowed. */
export type ConfigurationOf<K extends ConnectorKey> = CreateInstanceRequestOf<K>["configuration"];
/** A connector's catalog data. */
export type ConnectorSummary = Readable<Schemas["ConnectorSummary"]>;
/** A connector with its configuration entries and JSON Schema. */
export type Connector = Readable<Schemas["Connector"]>;
/** The error body of every 4xx and 5xx answer (RFC 9457 problem details). */
export type Problem = Readable<Schemas["Problem"]>;
/** The list's query: filters and page size (the cursor is handled by listAllInstances). */
export type ListInstancesQuery = NonNullable<operations["listInstances"]["parameters"]["query"]>;

export type InstancesClient = Client<paths>;

export interface InstancesClientOptions {
  /** The API's base URL, with its base path: `http://127.0.0.1:3000/your_moms/api-v2`. */
  baseUrl: string;
  userSecret: string;
  organizationSecret: string;
  /** A fetch implementation; the global one by default. */
  fetch?: ClientOptions["fetch"];
}

/** The header the API authenticates with: `User <user secret>, Organization <organization secret>`. */
export function authorizationHeader(userSecret: string, organizationSecret: string): string {
  return `User ${userSecret}, Organization ${organizationSecret}`;
}

/** An openapi-fetch client for the API, with the Authorization header set on every request. */
export function createInstancesClient({ baseUrl, userSecret, organizationSecret, fetch }: InstancesClientOptions): InstancesClient {
  const client = createClient<paths>({ baseUrl, ...(fetch ? { fetch } : {}) });
  const authorization = authorizationHeader(userSecret, organizationSecret);
  client.use({
    onRequest({ request }) {
      request.headers.set("Authorization", authorization);
      return request;
    },
  });
  return client;
}

/** A failed call, with the API's problem body. */
export class InstancesApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.message);
    this.name = "InstancesApiError";
  }
}

/**
 * Every instance the query matches, page after page: follows the `your_moms-next-page-token`
 * header so the caller never handles a cursor. Throws InstancesApiError when a page fails.
 */
export async function* listAllInstances(
  client: InstancesClient,
  query: Omit<ListInstancesQuery, "nextPage"> = {},
): AsyncGenerator<Instance> {
  let nextPage: string | undefined;
  do {
    const { data, error, response } = await client.GET("/instances", {
      params: { query: { ...query, ...(nextPage === undefined ? {} : { nextPage }) } },
    });
    if (error !== undefined) throw new InstancesApiError(response.status, error);
    yield* data;
    nextPage = response.headers.get("your_moms-next-page-token") ?? undefined;
  } while (nextPage !== undefined);
}
