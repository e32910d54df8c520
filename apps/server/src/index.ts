// @instances-api/server: the reference server, for tests and embedding.
export { createApp, type AppOptions } from "./app.js";
export { embeddedConfig, readConfig, type Config } from "./config.js";
export { startServer, type RunningServer, type StartOptions } from "./server.js";
export { ConnectorRegistry } from "./connectors/registry.js";
export { loadBundledSpec } from "./spec.js";
