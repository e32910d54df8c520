// The server's configuration: read from the environment once, here and nowhere else, validated at
// start-up (a bad value stops the process with a message that names it) and frozen.
import path from "node:path";
import express from "express";
import { provisioningModes, type ProvisioningMode } from "./provisioning/provisioner.js";
import { decodeKey } from "./secrets/secret-box.js";
import { ConfigError } from "./startup-error.js";

export type StorageConfig =
  | {
      kind: "sqlite";
      file: string;
      /** Reader threads beside the writer's (SQLITE_READERS); 0 runs the reads on the writer's thread too. */
      readers?: number;
    }
  | { kind: "postgres"; url: string };

/**
 * Two readers: on the two cores the server is sized for, one organization's slow read holds one of
 * them and the other reads go to the other (sqlite-storage.ts).
 */
export const defaultSqliteReaders = 2;

/** How long and how many: what a slow or greedy client can hold of the HTTP server. */
export interface HttpLimits {
  /** The request line and headers must arrive within this (Node's default: 60 s). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (Node's default: 300 s). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are refused at once (each holds a file descriptor). */
  maxConnections: number;
  /** A connection on which no byte moves for this long is closed: a client that stops reading its answer included. */
  idleTimeoutMs: number;
}

export const defaultHttpLimits: Readonly<HttpLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_000,
  idleTimeoutMs: 30_000,
});

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  storage: StorageConfig;
  /** 32 bytes from ENCRYPTION_KEY, or undefined to use (or create) the key file in dataDir. */
  encryptionKey: Buffer | undefined;
  /** Response validation: on everywhere but production, where it costs throughput. */
  validateResponses: boolean;
  logLevel: string;
  http: Readonly<HttpLimits>;
  /** How long an Idempotency-Key is remembered; after that it is forgotten and pruned. */
  idempotencyKeyTtlSeconds: number;
  /** How often the query planner's statistics are gathered where many rows changed since (and at start). */
  statisticsIntervalSeconds: number;
  rateLimits: Readonly<RateLimits>;
  /** Origins whose browser pages may call the API (CORS); empty: none but the server's own. */
  corsOrigins: readonly string[];
  /** How credentials are checked with the vendor: simulated (the default), for real, or not at all. */
  provisioning: ProvisioningMode;
  /**
   * `host:port` pairs the outbound guard lets through although their address is private or
   * loopback (plain http allowed too): for tests and local development only.
   */
  outboundAllowedHosts: readonly string[];
  /** Event deliveries to callback URLs (events/). */
  events: Readonly<EventDeliveryConfig>;
  /** The shortest time between two credential checks of one instance asked for with POST /instances/{id}/verify; 0: no limit. */
  verifyMinIntervalMs: number;
  vendor: Readonly<VendorTimingConfig>;
  /** Requests to the vendors' APIs through /instances/{id}/proxy/… (proxy/). */
  proxy: Readonly<ProxyConfig>;
  /** Polling the vendors for changes in their data (polling/). */
  poller: Readonly<PollerConfig>;
  /**
   * PUBLIC_URL: the server's public base URL (`https://instances.example.com`, no trailing slash),
   * under which the vendors' webhooks are received (vendor-hooks/); undefined: none are.
   */
  publicUrl: string | undefined;
  /** What a vendor's post to a receiving URL may be (vendor-hooks/). */
  vendorHooks: Readonly<VendorHookConfig>;
}

/** The vendors' posts to the receiving URLs: how large, how many. */
export interface VendorHookConfig {
  /** A post's body, in bytes (413 beyond). */
  bodyMaxBytes: number;
  /** Posts one instance may receive in a minute, per replica (429 beyond). */
  perInstancePerMinute: number;
  /** The vendor's answer to a registration or a removal at most (a hook's record, a few hundred bytes). */
  vendorAnswerMaxBytes: number;
}

export const defaultVendorHooks: Readonly<VendorHookConfig> = Object.freeze({
  bodyMaxBytes: 256 * 1024,
  perInstancePerMinute: 600,
  vendorAnswerMaxBytes: 1024 * 1024,
});

/** A receiving URL must fit SugarCRM's web logic hook `url` (255 characters): the base leaves room for the rest. */
export const publicUrlMaxLength = 120;

/** How each replica polls the vendors for changes: how often it looks, how much at once, how far it backs off. */
export interface PollerConfig {
  /** How often each replica looks for due polls and for instances whose polling changed. */
  tickMs: number;
  /** How long a replica's claim on a poll holds: longer than a poll can take, so none runs twice at once. */
  leaseMs: number;
  /** Polls under way at once on a replica. */
  concurrency: number;
  /** Of those, at most this many of one organization's. */
  perOrganization: number;
  /** Pages asked of a vendor in one poll; a poll with more is due again at once. */
  maxPages: number;
  /** One page's answer at most, in bytes: a larger one fails the poll (a vendor cannot make the poller hold much). */
  responseMaxBytes: number;
  /** A record larger than this (as JSON) is sent in its event without its fields. */
  recordMaxBytes: number;
  /** The longest wait after polls that failed in a row. */
  backoffMaxMs: number;
  /** However short the interval an instance asks for, its polls are at least this far apart (it guards the vendors from tenants). */
  intervalFloorMs: number;
}

export const defaultPoller: Readonly<PollerConfig> = Object.freeze({
  tickMs: 1_000,
  leaseMs: 120_000,
  concurrency: 8,
  perOrganization: 2,
  maxPages: 10,
  responseMaxBytes: 8 * 1024 * 1024,
  recordMaxBytes: 65_536,
  backoffMaxMs: 3_600_000,
  intervalFloorMs: 5_000,
});

/** The proxy's limits: sizes, times, and calls in flight at once (per replica). */
export interface ProxyConfig {
  /** A proxied request's body, in bytes (413 beyond). */
  requestMaxBytes: number;
  /** A vendor's answer, in bytes: one that says it is larger is a 502; one that grows past it is cut off. */
  responseMaxBytes: number;
  /** Name resolution, TCP connect and TLS handshake with the vendor, each. */
  connectTimeoutMs: number;
  /** The whole exchange, to the answer's last byte (504 when no answer has come by then). */
  timeoutMs: number;
  /** Proxied calls of one instance in flight at once on a replica (429 beyond). */
  perInstance: number;
  /** Proxied calls of one organization in flight at once on a replica (429 beyond). */
  perOrganization: number;
  /** A vendor's Retry-After is passed on, but never longer than this. */
  retryAfterMaxSeconds: number;
  /** Connections kept open to one vendor origin. */
  connectionsPerOrigin: number;
  /** Bytes of proxied bodies read whole (to put credentials in, to resend, to check) held at once by a replica (503 beyond). */
  bufferedMaxBytes: number;
}

export const defaultProxy: Readonly<ProxyConfig> = Object.freeze({
  requestMaxBytes: 10 * 1024 * 1024,
  responseMaxBytes: 50 * 1024 * 1024,
  connectTimeoutMs: 5_000,
  timeoutMs: 30_000,
  perInstance: 10,
  perOrganization: 50,
  retryAfterMaxSeconds: 60,
  connectionsPerOrigin: 32,
  bufferedMaxBytes: 64 * 1024 * 1024,
});

/** How the server paces its calls to vendors: how long one has to answer, and the token refresher. */
export interface VendorTimingConfig {
  /** A vendor must answer one check or refresh within this. */
  timeoutMs: number;
  /** How often each replica looks for due token refreshes. */
  refreshPollMs: number;
  /** How long a replica's claim on a refresh holds: longer than a refresh can take, so none runs twice at once. */
  refreshLeaseMs: number;
  /** How much later a refresh that failed (other than a refusal: the vendor down, too slow) is tried again. */
  refreshRetryMs: number;
  /** Token refreshes under way at once on a replica. */
  refreshConcurrency: number;
  /** Of those, at most this many of one organization's: a tenant whose vendor hangs holds no more. */
  refreshPerOrganization: number;
}

export const defaultVendorTiming: Readonly<VendorTimingConfig> = Object.freeze({
  timeoutMs: 10_000,
  refreshPollMs: 1_000,
  refreshLeaseMs: 60_000,
  refreshRetryMs: 60_000,
  refreshConcurrency: 64,
  refreshPerOrganization: 8,
});

/** How events are delivered: how long a receiver has, when to retry, when to give up. */
export interface EventDeliveryConfig {
  /** A receiver must answer within this. */
  deliveryTimeoutMs: number;
  /** The first retry comes within this (backoff with jitter); each later wait is three times longer, at most 3 h. */
  firstRetryMs: number;
  /** After this long since the event, a delivery that keeps failing is given up and marked failed. */
  retryHorizonSeconds: number;
  /** How often each replica looks for due deliveries (besides right after each write). */
  pollIntervalMs: number;
  /** Deliveries in flight at once on a replica. */
  concurrency: number;
  /** Of those, at most this many of one organization's: a tenant whose receivers hang holds no more. */
  perOrganization: number;
  /**
   * At most this many of one instance's deliveries pending: an event beyond drops the oldest (a
   * receiver down for a day must not pile up an unbounded backlog).
   */
  maxPendingPerInstance: number;
}

export const defaultEventDelivery: Readonly<EventDeliveryConfig> = Object.freeze({
  deliveryTimeoutMs: 10_000,
  firstRetryMs: 5_000,
  retryHorizonSeconds: 86_400,
  pollIntervalMs: 1_000,
  concurrency: 16,
  perOrganization: 4,
  maxPendingPerInstance: 1_000,
});

/** PROVISIONING: `sandbox` simulates each vendor's check offline, `live` calls the vendor, `off` checks nothing. */

/** Abuse limits, per replica (each keeps its own counts). */
export interface RateLimits {
  /** Failed authentications a client address may have in a minute before it must wait. */
  authenticationFailuresPerMinute: number;
  /** Requests an organization may make in a minute; undefined: no limit. */
  requestsPerMinutePerOrganization: number | undefined;
  /**
   * Which proxies in front of the server are believed about the client's address, the one the
   * per-address limits count by: Express's `trust proxy`. false: the connection's own address.
   */
  trustProxy: TrustProxy;
}

/**
 * TRUST_PROXY, as Express's `trust proxy` reads it: false (X-Forwarded-For ignored), true (every
 * hop), a number of hops, or the addresses and subnets of the trusted proxies, with the names
 * `loopback`, `linklocal` and `uniquelocal`.
 */
export type TrustProxy = boolean | number | readonly string[];

export const defaultRateLimits: Readonly<RateLimits> = Object.freeze({
  authenticationFailuresPerMinute: 30,
  requestsPerMinutePerOrganization: undefined,
  trustProxy: false,
});

export const defaultVerifyMinIntervalMs = 10_000;

export { ConfigError };

/** 24 hours, as Stripe keeps its idempotency keys. */
export const defaultIdempotencyKeyTtlSeconds = 86_400;

/** Hourly, as SQLite's documentation suggests for PRAGMA optimize on a connection held open (or daily). */
export const defaultStatisticsIntervalSeconds = 3_600;

export function readConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const dataDir = path.resolve(env.DATA_DIR ?? "data");
  return Object.freeze({
    host: env.HOST ?? "127.0.0.1",
    port: parsePort(env.PORT ?? "3000"),
    dataDir,
    storage: parseStorage(env.DATABASE_URL, dataDir, wholeNumber("SQLITE_READERS", env.SQLITE_READERS, defaultSqliteReaders)),
    encryptionKey: env.ENCRYPTION_KEY === undefined ? undefined : parseKey(env.ENCRYPTION_KEY),
    validateResponses: env.NODE_ENV !== "production",
    logLevel: env.LOG_LEVEL ?? "info",
    http: parseHttpLimits(env),
    idempotencyKeyTtlSeconds: positiveInteger(
      "IDEMPOTENCY_KEY_TTL_SECONDS",
      env.IDEMPOTENCY_KEY_TTL_SECONDS,
      defaultIdempotencyKeyTtlSeconds,
    ),
    statisticsIntervalSeconds: positiveInteger(
      "STATISTICS_INTERVAL_SECONDS",
      env.STATISTICS_INTERVAL_SECONDS,
      defaultStatisticsIntervalSeconds,
    ),
    rateLimits: Object.freeze({
      authenticationFailuresPerMinute: positiveInteger(
        "AUTH_FAILURES_PER_MINUTE",
        env.AUTH_FAILURES_PER_MINUTE,
        defaultRateLimits.authenticationFailuresPerMinute,
      ),
      requestsPerMinutePerOrganization: env.RATE_LIMIT_PER_MINUTE
        ? positiveInteger("RATE_LIMIT_PER_MINUTE", env.RATE_LIMIT_PER_MINUTE, 0)
        : undefined,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
    }),
    corsOrigins: parseCorsOrigins(env.CORS_ORIGINS),
    provisioning: parseProvisioningMode(env.PROVISIONING),
    outboundAllowedHosts: parseOutboundAllowedHosts(env.OUTBOUND_ALLOWED_HOSTS),
    events: parseEventDelivery(env),
    verifyMinIntervalMs:
      wholeNumber("VERIFY_MIN_INTERVAL_SECONDS", env.VERIFY_MIN_INTERVAL_SECONDS, defaultVerifyMinIntervalMs / 1000) * 1000,
    vendor: parseVendorTiming(env),
    proxy: parseProxy(env),
    poller: parsePoller(env),
    publicUrl: parsePublicUrl(env.PUBLIC_URL),
    vendorHooks: Object.freeze({
      bodyMaxBytes: positiveInteger("VENDOR_HOOK_BODY_MAX_BYTES", env.VENDOR_HOOK_BODY_MAX_BYTES, defaultVendorHooks.bodyMaxBytes),
      perInstancePerMinute: positiveInteger(
        "VENDOR_HOOK_PER_INSTANCE_PER_MINUTE",
        env.VENDOR_HOOK_PER_INSTANCE_PER_MINUTE,
        defaultVendorHooks.perInstancePerMinute,
      ),
      vendorAnswerMaxBytes: defaultVendorHooks.vendorAnswerMaxBytes,
    }),
  });
}

const loopbackHosts = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * PUBLIC_URL: `https://host[:port][/prefix]`, or `http://` on a loopback host (tests and local
 * development: a vendor on the Internet could not reach it anyway); no query, fragment or
 * credentials; the trailing slash dropped.
 */
export function parsePublicUrl(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  // Echoed without what comes before an `@`: a user name and password there would reach the start-up log.
  const shown = value.includes("@") ? `…@${value.slice(value.lastIndexOf("@") + 1)}` : value;
  const refusal = (why: string) =>
    new ConfigError(`PUBLIC_URL must be the server's public base URL, such as https://instances.example.com (${why}), not "${shown}"`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refusal("an absolute URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackHosts.has(url.hostname)))
    throw refusal("https, or http on 127.0.0.1, [::1] or localhost");
  if (url.search !== "" || url.hash !== "" || value.includes("?") || value.includes("#")) throw refusal("no query or fragment");
  if (url.username !== "" || url.password !== "") throw refusal("no user name or password");
  const normalized = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  if (normalized.length > publicUrlMaxLength) throw refusal(`at most ${publicUrlMaxLength} characters`);
  return normalized;
}

function parsePoller(env: NodeJS.ProcessEnv): Readonly<PollerConfig> {
  const d = defaultPoller;
  return Object.freeze({
    tickMs: positiveInteger("POLLER_TICK_MS", env.POLLER_TICK_MS, d.tickMs),
    leaseMs: positiveInteger("POLLER_LEASE_MS", env.POLLER_LEASE_MS, d.leaseMs),
    concurrency: positiveInteger("POLLER_CONCURRENCY", env.POLLER_CONCURRENCY, d.concurrency),
    perOrganization: positiveInteger("POLLER_PER_ORGANIZATION", env.POLLER_PER_ORGANIZATION, d.perOrganization),
    maxPages: positiveInteger("POLLER_MAX_PAGES", env.POLLER_MAX_PAGES, d.maxPages),
    responseMaxBytes: positiveInteger("POLLER_RESPONSE_MAX_BYTES", env.POLLER_RESPONSE_MAX_BYTES, d.responseMaxBytes),
    recordMaxBytes: positiveInteger("POLLER_RECORD_MAX_BYTES", env.POLLER_RECORD_MAX_BYTES, d.recordMaxBytes),
    backoffMaxMs: positiveInteger("POLLER_BACKOFF_MAX_SECONDS", env.POLLER_BACKOFF_MAX_SECONDS, d.backoffMaxMs / 1000) * 1000,
    intervalFloorMs: positiveInteger("POLLER_INTERVAL_FLOOR_MS", env.POLLER_INTERVAL_FLOOR_MS, d.intervalFloorMs),
  });
}

function parseProxy(env: NodeJS.ProcessEnv): Readonly<ProxyConfig> {
  const d = defaultProxy;
  return Object.freeze({
    requestMaxBytes: positiveInteger("PROXY_REQUEST_MAX_BYTES", env.PROXY_REQUEST_MAX_BYTES, d.requestMaxBytes),
    responseMaxBytes: positiveInteger("PROXY_RESPONSE_MAX_BYTES", env.PROXY_RESPONSE_MAX_BYTES, d.responseMaxBytes),
    connectTimeoutMs: positiveInteger("PROXY_CONNECT_TIMEOUT_MS", env.PROXY_CONNECT_TIMEOUT_MS, d.connectTimeoutMs),
    timeoutMs: positiveInteger("PROXY_TIMEOUT_MS", env.PROXY_TIMEOUT_MS, d.timeoutMs),
    perInstance: positiveInteger("PROXY_PER_INSTANCE", env.PROXY_PER_INSTANCE, d.perInstance),
    perOrganization: positiveInteger("PROXY_PER_ORGANIZATION", env.PROXY_PER_ORGANIZATION, d.perOrganization),
    retryAfterMaxSeconds: positiveInteger("PROXY_RETRY_AFTER_MAX_SECONDS", env.PROXY_RETRY_AFTER_MAX_SECONDS, d.retryAfterMaxSeconds),
    connectionsPerOrigin: positiveInteger("PROXY_CONNECTIONS_PER_ORIGIN", env.PROXY_CONNECTIONS_PER_ORIGIN, d.connectionsPerOrigin),
    bufferedMaxBytes: positiveInteger("PROXY_BUFFERED_MAX_BYTES", env.PROXY_BUFFERED_MAX_BYTES, d.bufferedMaxBytes),
  });
}

/**
 * TRUST_PROXY: unset, empty or `false`; `true`; a hop count; or comma-separated addresses, subnets
 * and names (`loopback, 10.0.0.0/8`). Each entry is checked by Express itself, so what is accepted
 * here is exactly what `trust proxy` accepts (the string "2" would be an address to Express: it is
 * read here as the number of hops it means).
 */
function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = (value ?? "").trim();
  if (text === "" || text === "false") return false;
  if (text === "true") return true;
  if (/^[0-9]{1,3}$/.test(text)) return Number(text);
  const entries = text.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    try {
      express().set("trust proxy", [entry]);
    } catch {
      throw new ConfigError(
        "TRUST_PROXY must be true, false, a number of proxies, or comma-separated addresses and subnets of proxies " +
          `(loopback, 10.0.0.0/8), not "${entry}"`,
      );
    }
  }
  return Object.freeze(entries);
}

function parseEventDelivery(env: NodeJS.ProcessEnv): Readonly<EventDeliveryConfig> {
  const d = defaultEventDelivery;
  return Object.freeze({
    deliveryTimeoutMs: positiveInteger("EVENT_DELIVERY_TIMEOUT_MS", env.EVENT_DELIVERY_TIMEOUT_MS, d.deliveryTimeoutMs),
    firstRetryMs: positiveInteger("EVENT_FIRST_RETRY_MS", env.EVENT_FIRST_RETRY_MS, d.firstRetryMs),
    retryHorizonSeconds: positiveInteger("EVENT_RETRY_HORIZON_SECONDS", env.EVENT_RETRY_HORIZON_SECONDS, d.retryHorizonSeconds),
    pollIntervalMs: positiveInteger("EVENT_POLL_INTERVAL_MS", env.EVENT_POLL_INTERVAL_MS, d.pollIntervalMs),
    concurrency: positiveInteger("EVENT_CONCURRENCY", env.EVENT_CONCURRENCY, d.concurrency),
    perOrganization: positiveInteger("EVENT_PER_ORGANIZATION", env.EVENT_PER_ORGANIZATION, d.perOrganization),
    maxPendingPerInstance: positiveInteger("EVENT_MAX_PENDING_PER_INSTANCE", env.EVENT_MAX_PENDING_PER_INSTANCE, d.maxPendingPerInstance),
  });
}

function parseVendorTiming(env: NodeJS.ProcessEnv): Readonly<VendorTimingConfig> {
  const d = defaultVendorTiming;
  return Object.freeze({
    timeoutMs: positiveInteger("VENDOR_TIMEOUT_MS", env.VENDOR_TIMEOUT_MS, d.timeoutMs),
    refreshPollMs: positiveInteger("REFRESH_POLL_MS", env.REFRESH_POLL_MS, d.refreshPollMs),
    refreshLeaseMs: positiveInteger("REFRESH_LEASE_MS", env.REFRESH_LEASE_MS, d.refreshLeaseMs),
    refreshRetryMs: positiveInteger("REFRESH_RETRY_MS", env.REFRESH_RETRY_MS, d.refreshRetryMs),
    refreshConcurrency: positiveInteger("REFRESH_CONCURRENCY", env.REFRESH_CONCURRENCY, d.refreshConcurrency),
    refreshPerOrganization: positiveInteger("REFRESH_PER_ORGANIZATION", env.REFRESH_PER_ORGANIZATION, d.refreshPerOrganization),
  });
}

function parseProvisioningMode(value: string | undefined): ProvisioningMode {
  if (value === undefined || value === "") return "sandbox";
  const mode = provisioningModes.find((m) => m === value);
  if (!mode) throw new ConfigError(`PROVISIONING must be one of ${provisioningModes.join(", ")}, not "${value}"`);
  return mode;
}

/** OUTBOUND_ALLOWED_HOSTS: comma-separated `host:port` (`127.0.0.1:8443`, `[::1]:9000`, `vendor.test:443`). */
function parseOutboundAllowedHosts(value: string | undefined): readonly string[] {
  const hosts = (value ?? "")
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  for (const host of hosts) {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):[1-9][0-9]{0,4}$/.test(host) || Number(host.slice(host.lastIndexOf(":") + 1)) > 65535) {
      throw new ConfigError(`OUTBOUND_ALLOWED_HOSTS must list host:port pairs such as 127.0.0.1:8443, not "${host}"`);
    }
  }
  return Object.freeze(hosts);
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new ConfigError(`${name} must be a positive whole number, not "${value}"`);
  return Number(value);
}

/** A whole number, 0 included. */
function wholeNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  if (!/^(0|[1-9][0-9]{0,8})$/.test(value)) throw new ConfigError(`${name} must be a whole number (0 or more), not "${value}"`);
  return Number(value);
}

/** CORS_ORIGINS: `*`, or a comma-separated list of exact origins (`https://app.example.com`). */
function parseCorsOrigins(value: string | undefined): readonly string[] {
  const origins = (value ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (origin === "*") continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin || !/^https?:$/.test(parsed.protocol)) {
      throw new ConfigError(
        `CORS_ORIGINS must list origins such as https://app.example.com (scheme, host and port, no path), not "${origin}"`,
      );
    }
  }
  return Object.freeze(origins);
}

function parseHttpLimits(env: NodeJS.ProcessEnv): Readonly<HttpLimits> {
  const limits = {
    headersTimeoutMs: positiveInteger("HTTP_HEADERS_TIMEOUT_MS", env.HTTP_HEADERS_TIMEOUT_MS, defaultHttpLimits.headersTimeoutMs),
    requestTimeoutMs: positiveInteger("HTTP_REQUEST_TIMEOUT_MS", env.HTTP_REQUEST_TIMEOUT_MS, defaultHttpLimits.requestTimeoutMs),
    keepAliveTimeoutMs: positiveInteger("HTTP_KEEP_ALIVE_TIMEOUT_MS", env.HTTP_KEEP_ALIVE_TIMEOUT_MS, defaultHttpLimits.keepAliveTimeoutMs),
    maxConnections: positiveInteger("HTTP_MAX_CONNECTIONS", env.HTTP_MAX_CONNECTIONS, defaultHttpLimits.maxConnections),
    idleTimeoutMs: positiveInteger("HTTP_IDLE_TIMEOUT_MS", env.HTTP_IDLE_TIMEOUT_MS, defaultHttpLimits.idleTimeoutMs),
  };
  // Node refuses a headers timeout longer than the request timeout.
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError("HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS");
  }
  return Object.freeze(limits);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new ConfigError(`PORT must be a port number (0-65535), not "${value}"`);
  return port;
}

/** DATABASE_URL: unset means SQLite in DATA_DIR; `sqlite:<file>` names the file; `postgres://...` PostgreSQL. */
function parseStorage(url: string | undefined, dataDir: string, readers: number): StorageConfig {
  if (url === undefined || url === "") return { kind: "sqlite", file: path.join(dataDir, "instances.sqlite"), readers };
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length).replace(/^\/\//, "");
    if (!file) throw new ConfigError("DATABASE_URL sqlite:<file> needs a file name");
    return { kind: "sqlite", file: path.resolve(file), readers };
  }
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: "postgres", url };
  throw new ConfigError(`DATABASE_URL must start with sqlite: or postgres://, not "${url.split(":")[0]}:"`);
}

function parseKey(value: string): Buffer {
  const key = decodeKey(value);
  if (!key) {
    throw new ConfigError("ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (openssl rand -base64 32), with no other character");
  }
  return key;
}

/**
 * The configuration of a server embedded in another program (a test, a tool): 127.0.0.1 on an
 * ephemeral port, SQLite in `dataDir`, every response validated.
 */
export function embeddedConfig(dataDir: string, overrides: Partial<Config> = {}): Readonly<Config> {
  return Object.freeze({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    storage: { kind: "sqlite", file: path.join(dataDir, "instances.sqlite") } as const,
    encryptionKey: undefined,
    validateResponses: true,
    logLevel: "info",
    http: defaultHttpLimits,
    idempotencyKeyTtlSeconds: defaultIdempotencyKeyTtlSeconds,
    statisticsIntervalSeconds: defaultStatisticsIntervalSeconds,
    rateLimits: defaultRateLimits,
    corsOrigins: [],
    provisioning: "sandbox",
    outboundAllowedHosts: [],
    events: defaultEventDelivery,
    verifyMinIntervalMs: defaultVerifyMinIntervalMs,
    vendor: defaultVendorTiming,
    proxy: defaultProxy,
    poller: defaultPoller,
    publicUrl: undefined,
    vendorHooks: defaultVendorHooks,
    ...overrides,
  });
}
