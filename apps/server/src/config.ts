// The server's configuration: read from the environment once, here and nowhere else, validated at
// start-up (a bad value stops the process with a message that names it) and frozen.
import path from "node:path";
import { decodeKey } from "./secrets/secret-box.js";

export type StorageConfig = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

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
}

export class ConfigError extends Error {}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const dataDir = path.resolve(env.DATA_DIR ?? "data");
  return Object.freeze({
    host: env.HOST ?? "127.0.0.1",
    port: parsePort(env.PORT ?? "3000"),
    dataDir,
    storage: parseStorage(env.DATABASE_URL, dataDir),
    encryptionKey: env.ENCRYPTION_KEY === undefined ? undefined : parseKey(env.ENCRYPTION_KEY),
    validateResponses: env.NODE_ENV !== "production",
    logLevel: env.LOG_LEVEL ?? "info",
  });
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new ConfigError(`PORT must be a port number (0-65535), not "${value}"`);
  return port;
}

/** DATABASE_URL: unset means SQLite in DATA_DIR; `sqlite:<file>` names the file; `postgres://...` PostgreSQL. */
function parseStorage(url: string | undefined, dataDir: string): StorageConfig {
  if (url === undefined || url === "") return { kind: "sqlite", file: path.join(dataDir, "instances.sqlite") };
  if (url.startsWith("sqlite:")) {
    const file = url.slice("sqlite:".length).replace(/^\/\//, "");
    if (!file) throw new ConfigError("DATABASE_URL sqlite:<file> needs a file name");
    return { kind: "sqlite", file: path.resolve(file) };
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
    ...overrides,
  });
}
