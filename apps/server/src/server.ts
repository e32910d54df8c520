// Starting and stopping the server: storage, the encryption key, the registry, the app, the
// listening socket. startServer() is what the CLI's `serve` runs and what tests start in-process.
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { createServer, type Server } from "node:http";
import { pino, type DestinationStream, type Logger } from "pino";
import { createFirstAccount } from "./accounts/accounts.js";
import type { SpecDocument } from "@instances-api/spec-tools";
import { docsDir as builtDocsDir } from "@instances-api/docs";
import { createApp } from "./app.js";
import type { Config, HttpLimits } from "./config.js";
import type { ProblemName } from "./api-types.js";
import { ApiError, problemType } from "./errors.js";
import { problemBody } from "./http/problem.js";
import { StartupError } from "./startup-error.js";
import { ConnectorRegistry } from "./connectors/registry.js";
import { openStorage, type Storage } from "./storage.js";
import { docsBuilt } from "./http/published-docs.js";
import { pruneIdempotencyKeysPeriodically } from "./instances/idempotency-pruning.js";
import { gatherStatisticsPeriodically } from "./database/statistics.js";
import { instanceOperations } from "./instances/operations/index.js";
import type { CheckOutboundUrl } from "./instances/notifications.js";
import { deliveriesService } from "./events/deliveries.js";
import { eventDispatcher } from "./events/dispatcher.js";
import type { OutboundSend } from "./outbound/outbound.js";
import { checkOutboundUrl, guardedSender } from "./outbound/guarded-sender.js";
import { instanceProvisioning } from "./instances/instance-provisioning.js";
import { provisioner } from "./provisioning/provisioner.js";
import { vendorLease } from "./instances/vendor-lease.js";
import { guardedStream, type GuardedStream } from "./outbound/guarded-stream.js";
import { bufferBudget } from "./proxy/buffer-budget.js";
import { inFlightCalls } from "./proxy/in-flight.js";
import type { ProxyDeps } from "./proxy/proxy-service.js";
import { recentCalls } from "./proxy/recent-calls.js";
import { startRefresher, type Refresher } from "./instances/refresher.js";
import { pollInstance } from "./polling/poll-instance.js";
import { startPoller, type Poller } from "./polling/poller.js";
import { unlockSecretBox } from "./secrets/key-check.js";
import { hookProvisioning } from "./vendor-hooks/hook-provisioning.js";
import { hookRateLimit } from "./vendor-hooks/hook-rate-limit.js";
import { basePathOf, loadBundledSpec } from "./spec.js";

export interface StartOptions {
  config: Readonly<Config>;
  /** The bundled spec; the package's own by default. */
  spec?: SpecDocument;
  /** Where log lines go; stdout by default. */
  logDestination?: DestinationStream;
  /** Where the first start prints the default account's Authorization header; stdout by default. */
  announce?: (line: string) => void;
  /** The built docs; @instances-api/docs's by default. */
  docsDir?: string;
  /**
   * What the server sends on its own goes through: vendor checks with PROVISIONING=live and event
   * deliveries, and the check of a callback URL at create. The outbound guard by default; tests
   * record or refuse here.
   */
  outbound?: { send: OutboundSend; checkOutboundUrl: CheckOutboundUrl; stream?: GuardedStream };
}

export interface RunningServer {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  /** The API's base URL: `url` plus the spec's base path. */
  apiUrl: string;
  logger: Logger;
  storage: Storage;
  /** The background token refresher (its `runDue` lets a test run a round at once). */
  refresher: Refresher;
  /** The background poller of vendors for changes (its `runDue` lets a test run a round at once). */
  poller: Poller;
  /** Stops accepting, finishes in-flight requests, closes the database. */
  close(): Promise<void>;
}

/**
 * The logger: to `destination`, or to stdout through an asynchronous, buffered writer (a
 * synchronous write per request line cost about a tenth of the server's time under load). Lines
 * still buffered are flushed when the server logs that it listens and when it stops.
 */
function createLogger(config: Pick<Config, "logLevel">, destination?: DestinationStream): Logger {
  return pino({ level: config.logLevel, base: undefined }, destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }));
}

export async function startServer({
  config,
  spec = loadBundledSpec(),
  logDestination,
  announce = (line) => console.log(line),
  docsDir = builtDocsDir,
  outbound = {
    send: guardedSender({ allowedHosts: config.outboundAllowedHosts }),
    checkOutboundUrl: (url) => checkOutboundUrl(url, config.outboundAllowedHosts),
  },
}: StartOptions): Promise<RunningServer> {
  const logger = createLogger(config, logDestination);
  const storage = await openStorage(config.storage, config.events);
  try {
    // Before anything is written: a key that does not open the stored data stops the start here.
    const secretBox = await unlockSecretBox(storage.keyCheck, config.encryptionKey, config.dataDir);
    const registry = new ConnectorRegistry(spec);
    const dispatcher = eventDispatcher({
      store: storage.events,
      send: outbound.send,
      secretBox,
      logger,
      retry: { firstRetryMs: config.events.firstRetryMs, horizonMs: config.events.retryHorizonSeconds * 1000 },
      deliveryTimeoutMs: config.events.deliveryTimeoutMs,
      pollIntervalMs: config.events.pollIntervalMs,
      concurrency: config.events.concurrency,
      perOrganization: config.events.perOrganization,
    });
    // The server's own connections to vendors (the proxy's, the poller's, the hooks'), kept alive between calls (outbound/guarded-stream.ts).
    const vendorStream =
      outbound.stream ??
      guardedStream({
        allowedHosts: config.outboundAllowedHosts,
        connectTimeoutMs: config.proxy.connectTimeoutMs,
        answerTimeoutMs: config.proxy.timeoutMs,
        connectionsPerOrigin: config.proxy.connectionsPerOrigin,
      });
    const renewalWaitMs = Math.min(config.vendor.timeoutMs, config.proxy.timeoutMs);
    const instanceDeps = {
      store: storage.instances,
      registry,
      secretBox,
      onEnqueued: () => dispatcher.nudge(),
      checkOutboundUrl: outbound.checkOutboundUrl,
      idempotencyKeyTtlSeconds: config.idempotencyKeyTtlSeconds,
      vendorRecordMaxBytes: config.poller.recordMaxBytes,
      provisioning: instanceProvisioning({
        provisioner: provisioner({
          mode: config.provisioning,
          outbound: outbound.send,
          timeoutMs: config.vendor.timeoutMs,
          refreshRetryMs: config.vendor.refreshRetryMs,
        }),
        secretBox,
      }),
      hooks: hookProvisioning({
        mode: config.provisioning,
        publicUrl: config.publicUrl,
        basePath: basePathOf(spec),
        stream: vendorStream.send,
        secretBox,
        limits: { timeoutMs: config.vendor.timeoutMs, responseMaxBytes: config.vendorHooks.vendorAnswerMaxBytes },
        logger,
      }),
      renewalWaitMs,
      vendorLease: vendorLease({
        store: storage.refreshes,
        // Longer than one check can take (the vendor's time, and a margin for the write after it),
        // plus the shortest interval: an active lease always ends further off than a cooling one,
        // which is how a proxied call tells a renewal under way from none (vendorAccess.ts).
        leaseMs: config.vendor.timeoutMs + 5_000 + config.verifyMinIntervalMs,
        minIntervalMs: config.verifyMinIntervalMs,
      }),
    };
    const instances = instanceOperations(instanceDeps);
    const proxy: ProxyDeps = {
      ...instanceDeps,
      stream: vendorStream.send,
      logger,
      limits: {
        requestMaxBytes: config.proxy.requestMaxBytes,
        responseMaxBytes: config.proxy.responseMaxBytes,
        timeoutMs: config.proxy.timeoutMs,
        retryAfterMaxSeconds: config.proxy.retryAfterMaxSeconds,
        renewalWaitMs,
      },
      inFlight: inFlightCalls({ perInstance: config.proxy.perInstance, perOrganization: config.proxy.perOrganization }),
      buffers: bufferBudget(config.proxy.bufferedMaxBytes),
      recentCalls: recentCalls(),
    };
    const app = createApp({
      spec,
      registry,
      accounts: storage.accounts,
      instanceTokens: storage.instances,
      instances,
      proxy,
      vendorHooks: {
        store: storage.instances,
        registry,
        rateLimit: hookRateLimit(config.vendorHooks.perInstancePerMinute),
        perInstancePerMinute: config.vendorHooks.perInstancePerMinute,
        bodyMaxBytes: config.vendorHooks.bodyMaxBytes,
        recordMaxBytes: config.poller.recordMaxBytes,
        onEnqueued: () => dispatcher.nudge(),
      },
      deliveries: deliveriesService({
        instanceExists: async (organizationId, id) => (await storage.instances.get(organizationId, id)) !== undefined,
        events: storage.events,
      }),
      logger,
      validateResponses: config.validateResponses,
      healthCheck: () => storage.ping(),
      docsDir,
      rateLimits: config.rateLimits,
      corsOrigins: config.corsOrigins,
    });
    const server = await listen(app, config.port, config.host, config.http);
    // The default account is created, and its secrets shown once, only by a start that has its
    // port: one refused (a port in use) creates nothing, so the next start still shows them.
    const account = await createFirstAccount(storage.accounts, "default").catch(async (error: unknown) => {
      await new Promise((resolve) => server.close(resolve));
      throw error;
    });
    if (account) announce(`Created the default account (shown once). Authorization: ${account.authorization}`);
    // Only once the start can no longer fail: a refused start writes nothing and leaves no timer.
    const stopPruning = pruneIdempotencyKeysPeriodically(storage.instances, config.idempotencyKeyTtlSeconds, logger);
    const stopStatistics = gatherStatisticsPeriodically(() => storage.gatherStatistics(), config.statisticsIntervalSeconds * 1000, logger);
    dispatcher.start();
    const refresher = startRefresher({
      store: storage.refreshes,
      refresh: (organizationId, id, owner) => instances.refreshInstanceTokens(organizationId, id, owner),
      logger,
      tickMs: config.vendor.refreshPollMs,
      leaseMs: config.vendor.refreshLeaseMs,
      concurrency: config.vendor.refreshConcurrency,
      perOrganization: config.vendor.refreshPerOrganization,
    });
    const poller = startPoller({
      store: storage.polls,
      connector: (key) => {
        const connector = registry.get(key);
        return connector && { events: connector.events, base: { ...connector.platformConfiguration, ...connector.defaults } };
      },
      poll: (owner, due) =>
        pollInstance(
          {
            ...instanceDeps,
            polls: storage.polls,
            stream: vendorStream.send,
            limits: {
              timeoutMs: config.proxy.timeoutMs,
              // Half the lease: the poll ends well before another claim of it could start.
              pollMaxMs: config.poller.leaseMs / 2,
              responseMaxBytes: config.poller.responseMaxBytes,
              maxPages: config.poller.maxPages,
              recordMaxBytes: config.poller.recordMaxBytes,
              renewalWaitMs,
              intervalFloorMs: config.poller.intervalFloorMs,
            },
          },
          owner,
          due,
        ),
      onEnqueued: () => dispatcher.nudge(),
      logger,
      tickMs: config.poller.tickMs,
      leaseMs: config.poller.leaseMs,
      concurrency: config.poller.concurrency,
      perOrganization: config.poller.perOrganization,
      backoffMaxMs: config.poller.backoffMaxMs,
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info(...listeningLine(url, config));
    if (!docsBuilt(docsDir)) logger.warn({ docsDir }, "the docs are not built: /docs answers 404 until `npm run build`");
    logger.flush();
    return {
      url,
      apiUrl: `${url}${basePathOf(spec)}`,
      logger,
      storage,
      refresher,
      poller,
      close: async () => {
        stopPruning();
        stopStatistics();
        await dispatcher.stop();
        return stop(server, storage, async () => {
          await refresher.stop();
          await poller.stop();
          await vendorStream.close();
        });
      },
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

/**
 * The start-up line: where the server listens, how it provisions, and, loudly, the hosts the
 * outbound guard lets through although private or loopback (meant for tests and local
 * development, so a production log that shows them shows a mistake).
 */
function listeningLine(url: string, config: Readonly<Config>): [Record<string, unknown>, string] {
  const allowed = config.outboundAllowedHosts;
  const fields = {
    url,
    docs: `${url}/docs/`,
    provisioning: config.provisioning,
    ...(allowed.length > 0 ? { outboundAllowedHosts: allowed } : {}),
  };
  const note = allowed.length > 0 ? `; OUTBOUND_ALLOWED_HOSTS lets ${allowed.join(", ")} through (tests and local development only)` : "";
  return [fields, `listening on ${url} (PROVISIONING=${config.provisioning})${note}`];
}

/**
 * Listens with limits on what a slow or greedy client can hold: a request trickled in byte by
 * byte is cut when its timeout passes (checked every second rather than Node's 30 s, so "30 s"
 * means about 30 s), an idle keep-alive connection is closed, and connections beyond the cap are
 * refused before they cost a file descriptor each for long.
 */
function listen(app: ReturnType<typeof createApp>, port: number, host: string, limits: Readonly<HttpLimits>): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1_000,
    },
    app,
  );
  server.maxConnections = limits.maxConnections;
  // Node sets no idle timeout: a client that stops reading a large answer (the 2.7 MB docs page)
  // would hold its connection, past every request timeout, for ever. With none listening for the
  // event, Node destroys the socket.
  server.setTimeout(limits.idleTimeoutMs);
  server.on("clientError", answerClientError);
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenRefusal(error, host, port)));
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      resolve(server);
    });
  });
}

/**
 * Why the server cannot listen, in one line: a port that is taken or not ours to bind, a `HOST`
 * that does not resolve or is not an address of this machine. Any other system error of the
 * listen is still the machine's, not a fault of ours: one line with Node's own words.
 */
function listenRefusal(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const reasons: Record<string, string> = {
    EADDRINUSE: "the port is in use",
    EACCES: "permission denied",
    EADDRNOTAVAIL: `HOST ${host} is not an address of this machine`,
    ENOTFOUND: `HOST ${host} does not resolve (no such name)`,
    EAI_AGAIN: `HOST ${host} could not be resolved (the name server did not answer; try again, or set HOST to an address)`,
  };
  const reason = error.code === undefined ? undefined : (reasons[error.code] ?? error.message);
  return reason === undefined ? error : new StartupError(`cannot listen on ${host}:${port}: ${reason}`);
}

/**
 * A request Node's HTTP parser refuses (headers over 16 KB, a malformed request line) or cuts for
 * arriving too slowly never reaches Express; answer it in the same Problem shape rather than with
 * Node's bare status line.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex & { _httpMessage?: { headersSent?: boolean } }): void {
  const answer = clientErrorAnswers[error.code ?? ""] ?? (error.code?.startsWith("HPE_") ? clientErrorAnswers.HPE_INVALID : undefined);
  // A response already under way (its headers sent) cannot be replaced: only cut the connection.
  if (!answer || !socket.writable || socket._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, title, name, message] = answer;
  const requestId = randomUUID();
  const body = JSON.stringify(problemBody(new ApiError(status, problemType(name), title, message), requestId));
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

const clientErrorAnswers: Record<string, [status: number, title: string, name: ProblemName, message: string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    "Request header fields too large",
    "headers-too-large",
    "The request line and headers are over the 16 KB limit",
  ],
  HPE_INVALID: [400, "Malformed HTTP request", "malformed-http", "The request is not valid HTTP"],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    "Request timeout",
    "request-timeout",
    "The request did not arrive in time; send it whole, without pauses",
  ],
};

// In-flight requests get this long to finish before their connections are cut.
const drainMilliseconds = 10_000;

async function stop(server: Server, storage: Storage, stopRefresher: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), drainMilliseconds).unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    server.closeIdleConnections();
  });
  // Refreshes under way finish and this replica's claims are released, before the database goes.
  await stopRefresher();
  await storage.close();
}
