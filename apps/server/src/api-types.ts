// The API's shapes, as the spec defines them: the types openapi-typescript generates for the
// typed client (@instances-api/client/schema), the one generation of them in the repository.
// Its read/write markers are resolved as a server sees them: what it answers (Readable: no
// writeOnly field) and what it is sent (Writable: no readOnly field).
import type { components, Readable, Writable } from "@instances-api/client/schema";

type Schemas = components["schemas"];
export type InstanceBody = Readable<Schemas["Instance"]>;
export type ConnectorSummary = Readable<Schemas["ConnectorSummary"]>;
export type ConnectorBody = Readable<Schemas["Connector"]>;
export type ConfigurationEntry = Readable<Schemas["ConfigurationEntry"]>;
export type UpdateInstanceRequest = Writable<Schemas["UpdateInstanceRequest"]>;
export type SimulatedVendorChange = Writable<Schemas["SimulatedVendorChange"]>;
export type Problem = Readable<Schemas["Problem"]>;
/** A catalogued problem type URI (the spec's ProblemType enum): `urn:instances-api:problem:not-found`. */
export type ProblemType = Schemas["ProblemType"];
/** A catalogued problem type's name, the URI's last part: `not-found`. */
export type ProblemName = ProblemType extends `urn:instances-api:problem:${infer Name}` ? Name : never;
export type ProvisionInteractionBody = Readable<Schemas["ProvisionInteraction"]>;

/** A create (or replace) body of any connector, as the server handles them: by key, not by type. */
export interface CreateInstanceBody {
  your_mom: { key: string };
  configuration: Record<string, string>;
  tags?: string[];
  name: string;
}
