// Create, replace and update, typed by connector. `client.POST("/instances", { body })` checks a
// body against the union of every connector's request, and TypeScript cannot narrow that union by
// the nested `your_mom.key`: a Freshservice body without `subdomain` fails to compile with an
// error about SugarCRM's entries. These functions take the connector key as a type parameter, so
// the body is checked against that one connector's request and the error names its entries (and
// suggests the closest one for a misspelled entry). Each returns what the client call returns.
import type { FetchOptions, FetchResponse } from "openapi-fetch";
import type {
  ConnectorKey,
  CreatedInstance,
  CreateInstanceRequestOf,
  InstancesClient,
  paths,
  UpdateInstanceRequest,
  UpdateInstanceRequestOf,
} from "./types.js";

type Media = `${string}/${string}`;
type CreateOperation = paths["/instances"]["post"];
type ReplaceOperation = paths["/instances/{id}"]["put"];
type UpdateOperation = paths["/instances/{id}"]["patch"];

/** What `createInstance` takes besides the body: `client.POST`'s options (the `Idempotency-Key` header, a `signal`, ...). */
export type CreateInstanceOptions = Omit<FetchOptions<CreateOperation>, "body" | "parseAs">;
/** What `replaceInstance` takes besides the id and the body: the `If-Match` header, a `signal`, ... */
export type ReplaceInstanceOptions = Omit<FetchOptions<ReplaceOperation>, "body" | "params" | "parseAs"> & {
  params?: { header?: ReplaceOperation["parameters"]["header"] };
};
/** What `updateInstance` takes besides the id and the patch: the `If-Match` header, a `signal`, ... */
export type UpdateInstanceOptions = Omit<FetchOptions<UpdateOperation>, "body" | "params" | "parseAs"> & {
  params?: { header?: UpdateOperation["parameters"]["header"] };
};

// A create answers the new instance with its token; only a create retried with its
// Idempotency-Key, once the instance has changed, answers without one (the spec's anyOf). So the
// token is typed as always there when no key can have been sent.
type KeySent<O> = O extends { params?: { header?: { "Idempotency-Key"?: undefined } } } ? false : true;
/** The answer to `createInstance`: `client.POST`'s, with `data.token` always there when no `Idempotency-Key` was sent. */
export type CreateInstanceResponse<O extends CreateInstanceOptions = CreateInstanceOptions> =
  KeySent<O> extends true
    ? FetchResponse<CreateOperation, O, Media>
    : Exclude<FetchResponse<CreateOperation, O, Media>, { error?: never }> | { data: CreatedInstance; error?: never; response: Response };

/**
 * Creates an instance of the connector `body.your_mom.key` names: `client.POST("/instances")`
 * with the body checked against that connector's request, so a missing or misspelled entry is a
 * compile error that names it.
 */
export function createInstance<K extends ConnectorKey, O extends CreateInstanceOptions = Record<never, never>>(
  client: InstancesClient,
  body: { your_mom: { key: K } } & NoInfer<CreateInstanceRequestOf<K>>,
  // `& CreateInstanceOptions`: with `O` alone an editor's hover on "Idempotency-Key" shows the
  // inferred type only; the intersection brings the spec's description back.
  options?: O & CreateInstanceOptions,
): Promise<CreateInstanceResponse<O>> {
  return client.POST("/instances", { ...options, body }) as Promise<CreateInstanceResponse<O>>;
}

/**
 * Replaces an instance's name, tags and whole configuration: `client.PUT("/instances/{id}")` with
 * the body checked against its connector's request (the connector cannot change).
 */
export function replaceInstance<K extends ConnectorKey>(
  client: InstancesClient,
  id: number,
  body: { your_mom: { key: K } } & NoInfer<CreateInstanceRequestOf<K>>,
  { params, ...options }: ReplaceInstanceOptions = {},
): Promise<FetchResponse<ReplaceOperation, ReplaceInstanceOptions, Media>> {
  return client.PUT("/instances/{id}", { ...options, params: { ...params, path: { id } }, body });
}

/**
 * Updates part of an instance of the connector `connector`: `client.PATCH("/instances/{id}")`
 * with `configuration` typed as that connector's entries (each set, or removed with `null` when
 * optional). The key only types the patch: the server checks the entries against the instance's
 * own connector, and names any it does not have.
 */
export function updateInstance<K extends ConnectorKey>(
  client: InstancesClient,
  id: number,
  _connector: K,
  patch: NoInfer<UpdateInstanceRequestOf<K>>,
  { params, ...options }: UpdateInstanceOptions = {},
): Promise<FetchResponse<UpdateOperation, UpdateInstanceOptions, Media>> {
  // One connector's patch is an UpdateInstanceRequest; TypeScript cannot see it for a generic K.
  const body = patch as UpdateInstanceRequest;
  return client.PATCH("/instances/{id}", { ...options, params: { ...params, path: { id } }, body });
}
