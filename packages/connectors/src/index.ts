// @instances-api/connectors: the connectors, as the bundled spec describes them.
export { readConnectors, readCreateExamples } from "./read-connectors.js";
export type {
  CreateExample,
  ConfigurationEntry,
  ConfigurationValues,
  ConnectorCatalog,
  ConnectorDefinition,
  CredentialAuth,
  CredentialCheck,
  NoCheck,
  OAuth2PasswordCheck,
  RequestCheck,
  SpecDocument,
} from "./read-connectors.js";
