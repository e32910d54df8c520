// @instances-api/spec-tools: everything a workspace needs to read the bundled spec: the document's
// type and loader, JSON pointers and `$ref`s, a schema validator, the connectors it declares, its
// catalog of problem types and the events its webhooks describe.
export { isJsonObject, readSpecDocument } from "./document.js";
export type { JsonObject, SpecDocument } from "./document.js";
export { dereferenced, partsOf, pointerOf, resolveRef, walk } from "./json-pointer.js";
export { schemaValidator } from "./schema-validator.js";
export type { ErrorObject, SchemaValidator, ValidateFunction } from "./schema-validator.js";
export { readConnectors, readCreateExamples } from "./connectors.js";
export { problemTypePrefix, problemTypesOf, readProblemTypes } from "./problem-types.js";
export type { ProblemTypeDefinition } from "./problem-types.js";
export { eventChecker, readWebhooks } from "./webhooks.js";
export type { ReceivedEvent, WebhookDefinition, WebhookHeader } from "./webhooks.js";
export type {
  CreateExample,
  ConfigurationEntry,
  ConfigurationValues,
  ConnectorApi,
  ConnectorCatalog,
  ConnectorEvents,
  ConnectorDefinition,
  CredentialAuth,
  CredentialCheck,
  HttpApi,
  NoApi,
  NoCheck,
  NoEvents,
  OAuth2PasswordCheck,
  PollingEvents,
  VendorWebhooks,
  RequestCheck,
} from "./connectors.js";
