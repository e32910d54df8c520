// Starting and stopping the server: storage, the encryption key, the registry, the app, the
// listening socket. startServer() is what the CLI's `serve` runs and what tests start in-process.
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { pino, type DestinationStream, type Logger } from "pino";
import { createAccount } from "./accounts/accounts.js";
import type { OpenApiDocument } from "./api-types.js";
import { docsDir as builtDocsDir } from "@instances-api/docs";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { ConnectorRegistry } from "./connectors/registry.js";
import { openStorage, type Storage } from "./database/storage.js";
import { docsBuilt } from "./http/published-docs.js";
import { instancesService } from "./instances/instances.js";
import { createSecretBox, loadOrCreateKeyFile } from "./secrets/secret-box.js";
import { basePathOf, loadBundledSpec } from "./spec.js";

export interface StartOptions {
  config: Readonly<Config>;
  /** The bundled spec; the package's own by default. */
  spec?: OpenApiDocument;
  /** Where log lines go; stdout by default. */
  logDestination?: DestinationStream;
  /** Where the first start prints the default account's Authorization header; stdout by default. */
  announce?: (line: string) => void;
  /** The built docs; @instances-api/docs's by default. */
  docsDir?: string;
}

export interface RunningServer {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  /** The API's base URL: `url` plus the spec's base path. */
  apiUrl: string;
  logger: Logger;
  storage: Storage;
  /** Stops accepting, finishes in-flight requests, closes the database. */
  close(): Promise<void>;
}

export function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
  return pino({ level: config.logLevel, base: undefined }, destination);
}

export async function startServer({
  config,
  spec = loadBundledSpec(),
  logDestination,
  announce = (line) => console.log(line),
  docsDir = builtDocsDir,
}: StartOptions): Promise<RunningServer> {
  const logger = createLogger(config, logDestination);
  const storage = openStorage(config.storage);
  try {
    const secretBox = createSecretBox(config.encryptionKey ?? loadOrCreateKeyFile(config.dataDir));
    const registry = new ConnectorRegistry(spec);
    if ((await storage.accounts.countOrganizations()) === 0) {
      const account = await createAccount(storage.accounts, "default");
      announce(`Created the default account (shown once). Authorization: ${account.authorization}`);
    }
    const app = createApp({
      spec,
      registry,
      accounts: storage.accounts,
      instances: instancesService({ store: storage.instances, registry, secretBox }),
      logger,
      validateResponses: config.validateResponses,
      healthCheck: () => storage.ping(),
      docsDir,
    });
    const server = await listen(app, config.port, config.host);
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, docs: `${url}/docs/` }, `listening on ${url}`);
    if (!docsBuilt(docsDir)) logger.warn({ docsDir }, "the docs are not built: /docs answers 404 until `npm run build`");
    return { url, apiUrl: `${url}${basePathOf(spec)}`, logger, storage, close: () => stop(server, storage) };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

function listen(app: ReturnType<typeof createApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
  });
}

// In-flight requests get this long to finish before their connections are cut.
const drainMilliseconds = 10_000;

async function stop(server: Server, storage: Storage): Promise<void> {
  await new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), drainMilliseconds).unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
  await storage.close();
}
