// The real server, started in-process on an ephemeral port of 127.0.0.1 with a temporary data
// dir, response validation on: a response that breaks the spec comes back as a 500 and fails the
// test. Every Problem that `api()` receives must be of a type the spec catalogues, with the status
// the catalog gives it, or the call throws: that holds the proxy's Problems too, which come before
// the validator and so are not checked by it. Log lines are captured, so tests can read them (and
// prove what is not in them).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { createAccount, type NewAccount } from "../src/accounts/accounts.js";
import { readProblemTypes, type SpecDocument } from "@instances-api/spec-tools";
import { embeddedConfig, type Config, type StorageConfig } from "../src/config.js";
import { startServer, type RunningServer, type StartOptions } from "../src/server.js";
import type { OutboundSend } from "../src/outbound/outbound.js";
import { loadBundledSpec } from "../src/spec.js";
import { sendingNothingAway } from "./outbound/outbound-fakes.js";

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  /** The default account's Authorization header, printed on first start. */
  authorization: string;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  /** Every log line so far, as written. */
  rawLogs: () => string;
  /**
   * fetch() against the API base URL, with the default account's Authorization unless given.
   * Throws on a Problem whose type the spec does not catalogue, or that has another status than the catalog's.
   */
  api: (path: string, init?: RequestInit & { json?: unknown }) => Promise<Response>;
  newAccount: (organization: string) => Promise<NewAccount>;
  stop: () => Promise<void>;
  /** Stops the server, keeping the data dir; start again with startTestServer({ dataDir }). */
  restart: () => Promise<TestServer>;
}

export async function startTestServer(
  options: {
    dataDir?: string;
    spec?: SpecDocument;
    authorization?: string;
    storage?: StorageConfig;
    config?: Partial<Config>;
    /** How events leave; by default to nowhere off this machine (test/outbound/outbound-fakes.ts). */
    outbound?: StartOptions["outbound"];
    /** The vendors' sender (provisioning tests; their timeout and the refresher's pace are config.vendor). */
    provisioning?: { outbound?: OutboundSend };
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "instances-api-test-"));
  let raw = "";
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString("utf8");
      done();
    },
  });
  let announced = options.authorization;
  const server = await startServer({
    config: embeddedConfig(dataDir, { ...options.config, ...(options.storage ? { storage: options.storage } : {}) }),
    ...(options.spec ? { spec: options.spec } : {}),
    ...options.provisioning,
    outbound: options.outbound ?? withVendorSender(options.provisioning?.outbound),
    logDestination: destination,
    announce: (line) => {
      announced = /Authorization: (.*)$/.exec(line)?.[1];
    },
  });
  if (!announced) throw new Error("the server announced no default account");
  const authorization = announced;

  const test: TestServer = {
    server,
    dataDir,
    authorization,
    get logs() {
      return raw
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLogs: () => raw,
    api: (apiPath, init = {}) => {
      const { json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (!headers.has("Authorization")) headers.set("Authorization", authorization);
      if (json !== undefined && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
      return fetch(`${server.apiUrl}${apiPath}`, { ...rest, headers, ...(json === undefined ? {} : { body: JSON.stringify(json) }) }).then(
        catalogued,
      );
    },
    newAccount: (organization) => createAccount(server.storage.accounts, organization),
    stop: async () => {
      await server.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    restart: async () => {
      await server.close();
      return startTestServer({ ...options, dataDir, authorization });
    },
  };
  return test;
}

/** The status the spec's catalog gives each problem type (the bundled spec's, whatever spec a test server runs). */
const statusOfProblemType = new Map(readProblemTypes(loadBundledSpec()).map(({ type, status }) => [type, status]));

/** The response, once its Problem (if it is one) is known to be a catalogued type with the catalog's status. */
async function catalogued(response: Response): Promise<Response> {
  if (!/^application\/problem\+json\b/.test(response.headers.get("Content-Type") ?? "")) return response;
  if (response.headers.has("X-Proxied-From")) return response; // the vendor's own answer, passed on
  const text = await response.clone().text();
  if (text === "") return response; // a HEAD
  const type = String((JSON.parse(text) as { type?: unknown }).type);
  const status = statusOfProblemType.get(type);
  if (status === undefined) throw new Error(`a ${response.status} Problem of type ${type}, which the spec does not catalogue`);
  if (status !== response.status) throw new Error(`a ${response.status} Problem of type ${type}, which the spec's catalog gives ${status}`);
  return response;
}

export async function body<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/**
 * Where the server sends: nowhere off this machine by default; a provisioning test's own sender
 * for its vendor checks (callback URLs checked as for any test that is not about events).
 */
function withVendorSender(send: OutboundSend | undefined): NonNullable<StartOptions["outbound"]> {
  const nowhere = sendingNothingAway();
  return send ? { ...nowhere, send } : nowhere;
}
