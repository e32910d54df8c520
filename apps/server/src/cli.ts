#!/usr/bin/env node
// The `instances-api` command: `serve` runs the server; `accounts create`, `accounts list` and
// `accounts rotate` manage organizations and their secrets; no command, or a group without its
// subcommand, is a usage mistake that lists what there is. All read the same environment
// (DATA_DIR, DATABASE_URL, ...) and work while a server runs on it. A success is one JSON object
// on stdout; an error one plain line on stderr and a non-zero exit.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { createAccount, listAccounts, rotateAccountSecrets } from "./accounts/accounts.js";
import { AccountRefusedError } from "./accounts/errors.js";
import { ConfigError, readConfig } from "./config.js";
import { openStorage, type Storage } from "./storage.js";
import { StartupError } from "./startup-error.js";

const usages = {
  serve:
    "instances-api serve                                  run the server (PORT, HOST, DATA_DIR, DATABASE_URL, ENCRYPTION_KEY; see docs/configuration.md)",
  accountsCreate:
    "instances-api accounts create --organization <name>  create an organization and its first user; prints their secrets as JSON\n" +
    "                              [--allow-duplicate]    (a name an organization has already is refused without it)",
  accountsList:
    "instances-api accounts list                          the organizations and their users: ids, names, creation times; no secret",
  accountsRotate:
    "instances-api accounts rotate --organization-id <id> new secrets for the organization and its users, printed once; the old ones stop working",
};
const accountsUsage = [usages.accountsCreate, usages.accountsList, usages.accountsRotate].join("\n  ");
const usage = `Usage:
  ${usages.serve}
  ${accountsUsage}
  instances-api --version                              print the version
  instances-api [command] --help                       print this help, or a command's`;

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

async function serve(): Promise<void> {
  // Listen for the signals before the server starts, so that one sent as soon as it says it
  // listens is not met by the default action (an abrupt exit). A second signal still ends it at once.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  // Loaded here, not above: the server's modules (Express, the validator, the spec) take most of a
  // second to load, which --version, --help and the accounts commands need not wait for.
  const { startServer } = await import("./server.js");
  const server = await startServer({ config: readConfig() });
  // Storage that can no longer serve (a SQLite worker thread died) ends the process with 1, for its
  // supervisor to start it again, rather than answering 503 for ever (sqlite-storage.ts).
  const ending = await Promise.race([signalled.then((signal) => ({ signal })), server.storage.lost.then((lost) => ({ lost }))]);
  if ("lost" in ending) server.logger.fatal({ err: ending.lost }, "the storage stopped; stopping");
  else server.logger.info({ signal: ending.signal }, "stopping: finishing in-flight requests");
  const status = "lost" in ending ? 1 : 0;
  try {
    await server.close();
    server.logger.info("stopped");
    server.logger.flush(() => process.exit(status));
  } catch (error) {
    server.logger.error({ err: error }, "could not stop cleanly");
    server.logger.flush(() => process.exit(1));
  }
}

/** Runs `work` on the configured storage, and prints its result as one JSON object. */
async function withStorage(work: (storage: Storage) => Promise<unknown>): Promise<void> {
  const config = readConfig();
  const storage = await openStorage(config.storage, config.events);
  try {
    process.stdout.write(JSON.stringify(await work(storage)) + "\n");
  } finally {
    await storage.close();
  }
}

function createAccountCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { organization: { type: "string" }, "allow-duplicate": { type: "boolean" } },
    strict: true,
  });
  const organization = values.organization?.trim();
  if (!organization) throw new ConfigError("accounts create needs --organization <name>");
  const allowDuplicate = values["allow-duplicate"] ?? false;
  return withStorage((storage) => createAccount(storage.accounts, organization, { allowDuplicate }));
}

function listAccountsCommand(args: string[]): Promise<void> {
  parseArgs({ args, options: {}, strict: true });
  return withStorage((storage) => listAccounts(storage.accounts));
}

function rotateAccountCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { "organization-id": { type: "string" } }, strict: true });
  const given = values["organization-id"];
  if (given === undefined) throw new ConfigError("accounts rotate needs --organization-id <id> (see instances-api accounts list)");
  // Plain decimal digits, as the API's ids: `1e0` or `0x1` is not an id.
  const organizationId = /^[1-9][0-9]{0,14}$/.test(given) ? Number(given) : undefined;
  if (organizationId === undefined)
    throw new ConfigError(`--organization-id must be an organization's id (a positive integer), not ${JSON.stringify(given)}`);
  return withStorage((storage) => rotateAccountSecrets(storage.accounts, organizationId));
}

const asksForHelp = (args: string[]) => args.includes("--help") || args.includes("-h");

const accountCommands: Record<string, { usage: string; run: (args: string[]) => Promise<void> }> = {
  create: { usage: usages.accountsCreate, run: createAccountCommand },
  list: { usage: usages.accountsList, run: listAccountsCommand },
  rotate: { usage: usages.accountsRotate, run: rotateAccountCommand },
};
const accountSubcommands = "create, list or rotate";

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // No command is a usage mistake, not `serve`: a server is started only when asked for.
  if (command === undefined) throw new ConfigError(`a command is needed (serve starts the server)\n${usage}`);
  if (command === "--version" || command === "-v" || command === "version") return void console.log(version);
  if (command === "help" || command === "--help" || command === "-h") return void console.log(usage);
  if (command === "serve" && asksForHelp(rest)) return void console.log(`Usage:\n  ${usages.serve}`);
  if (command === "serve" && rest.length === 0) return serve();
  if (command === "accounts") return accounts(rest);
  throw new ConfigError(`unknown command: ${argv.join(" ")}\n${usage}`);
}

/** `accounts <subcommand>`; without one, or with one it does not have, the subcommands it has. */
async function accounts(rest: string[]): Promise<void> {
  const [subcommand, ...args] = rest;
  if (subcommand === undefined) throw new ConfigError(`accounts needs a subcommand: ${accountSubcommands}\nUsage:\n  ${accountsUsage}`);
  const known = Object.hasOwn(accountCommands, subcommand) ? accountCommands[subcommand] : undefined;
  if (known && asksForHelp(args)) return void console.log(`Usage:\n  ${known.usage}`);
  if (known) return known.run(args);
  if (asksForHelp(rest)) return void console.log(`Usage:\n  ${accountsUsage}`);
  throw new ConfigError(`unknown accounts subcommand: ${subcommand} (it has ${accountSubcommands})\nUsage:\n  ${accountsUsage}`);
}

// A known reason not to run is one plain line: a bad setting or usage exits 2, a refusal to start
// (a wrong key, a damaged database, an unusable data directory) or of an account operation (a
// duplicate name, an unknown organization) exits 1. Anything else is a fault
// of ours: its stack, exit 1.
main(process.argv.slice(2)).catch((error: unknown) => {
  const badArguments = error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS");
  const usage = error instanceof ConfigError || badArguments;
  const known = usage || error instanceof StartupError || error instanceof AccountRefusedError;
  // node:util's parseArgs explains some mistakes over several lines: one line here.
  const message = badArguments ? error.message.replace(/\s*\n\s*/g, " ") : (error as Error).message;
  console.error(`instances-api: ${known ? message : String((error as Error).stack ?? error)}`);
  process.exit(usage ? 2 : 1);
});
