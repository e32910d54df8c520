// The types users reach for, named over the generated ones (src/generated/schema.ts). Nothing here
// restates the spec: each type picks, narrows or masks what openapi-typescript generated from it.
import type { Client } from "openapi-fetch";
import type { $Write, components, operations, paths as generatedPaths, Readable, webhooks, Writable } from "./generated/schema.js";

export type { components, operations, webhooks };

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
// Every instance a response carries (Instance, CreatedInstance) gets the masked configuration; the
// check is distributive, so a union of instance shapes stays a union.
type Masked<T> = Omit<T, "configuration"> & { configuration?: MaskedConfiguration };
type MaskSecrets<T> = T extends Schemas["Instance"]
  ? Masked<T>
  : T extends (infer E)[]
    ? MaskSecrets<E>[]
    : T extends object
      ? { [K in keyof T]: MaskSecrets<T[K]> }
      : T;
/** The API's paths, as generated, with every response instance's secrets typed as masked. */
export type paths = MaskSecrets<generatedPaths>;

/** An instance, as responses carry it (secret entries of `configuration` read `********`). */
export type Instance = Readable<Masked<Schemas["Instance"]>>;
/** An instance with its `token`, as token rotation (and a create) answers it. */
export type CreatedInstance = Readable<Masked<Schemas["CreatedInstance"]>>;
/** A create (or replace) request: `your_mom.key` chooses the connector and its `configuration`. */
export type CreateInstanceRequest = Writable<Schemas["CreateInstanceRequest"]>;
/** A partial update (PATCH), of an instance of any connector. */
export type UpdateInstanceRequest = Writable<Schemas["UpdateInstanceRequest"]>;
/** The keys of the connectors the spec describes. */
export type ConnectorKey = CreateInstanceRequest["your_mom"]["key"];
/** The create request of one connector. */
export type CreateInstanceRequestOf<K extends ConnectorKey> = Extract<CreateInstanceRequest, { your_mom: { key: K } }>;
/** One connector's `configuration`: its required entries are required, unknown entries are not allowed. */
export type ConfigurationOf<K extends ConnectorKey> = CreateInstanceRequestOf<K>["configuration"];
/**
 * The `configuration` of a PATCH of connector `K`'s instance: any of its entries, set to a value,
 * or removed with `null` (only optional entries may be removed; unknown entries are not allowed).
 */
export type ConfigurationPatchOf<K extends ConnectorKey> = {
  [E in keyof ConfigurationOf<K>]?: Record<never, never> extends Pick<ConfigurationOf<K>, E> // E is optional
    ? ConfigurationOf<K>[E] | null
    : ConfigurationOf<K>[E];
};
/** A partial update (PATCH) of connector `K`'s instance: its `configuration` typed as that connector's. */
export type UpdateInstanceRequestOf<K extends ConnectorKey> = Omit<UpdateInstanceRequest, "configuration"> & {
  /** Configuration entries to set (a value) or remove (`null`). */
  configuration?: ConfigurationPatchOf<K>;
};
/** A connector's catalog data. */
export type ConnectorSummary = Readable<Schemas["ConnectorSummary"]>;
/** A connector with its configuration entries and JSON Schema. */
export type Connector = Readable<Schemas["Connector"]>;
/** The error body of every 4xx and 5xx answer (RFC 9457 problem details). */
export type Problem = Readable<Schemas["Problem"]>;
/** A Problem's `type`: one of the API's problem types (`urn:instances-api:problem:not-found`), each with one status. */
export type ProblemType = Schemas["ProblemType"];
/** The list's query: filters and page size (the cursor is handled by listAllInstances). */
export type ListInstancesQuery = NonNullable<operations["listInstances"]["parameters"]["query"]>;

/** The type of every event the API sends to an instance's callback URL (the spec's webhooks): `"instance.created"`, .... */
export type InstanceEventType = keyof webhooks;
/**
 * The event of one type, as the API sends it: `data` is the instance, its secret entries read
 * `********`. An event is the body of a request the server makes, so the spec's request view
 * applies (`Writable`): its readOnly fields, the instance's `token` and `eventSigningSecret`, are
 * never in it.
 */
export type InstanceEventOf<T extends InstanceEventType> = Writable<
  MaskSecrets<webhooks[T]["post"]["requestBody"]["content"]["application/json"]>
>;
/** Any event the API sends: a union that narrows on `type` (`verifyEvent` returns it). */
export type InstanceEvent = { [T in InstanceEventType]: InstanceEventOf<T> }[InstanceEventType];

/** An openapi-fetch client for the API's paths. */
export type InstancesClient = Client<paths>;
