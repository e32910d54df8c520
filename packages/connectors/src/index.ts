// @instances-api/connectors: the connectors, as the bundled spec describes them.
export { readConnectors } from "./read-connectors.js";
export type { ConfigurationEntry, ConfigurationValues, ConnectorCatalog, ConnectorDefinition, SpecDocument } from "./read-connectors.js";
