#!/usr/bin/env node
// The `instances-api` command: `serve` runs the server; `accounts create --organization <name>`
// creates an organization with one user and prints its secrets as one JSON object. Both read the
// same environment (DATA_DIR, DATABASE_URL, ...).
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { createAccount } from "./accounts/accounts.js";
import { ConfigError, readConfig } from "./config.js";
import { openStorage } from "./storage.js";
import { startServer } from "./server.js";
import { StartupError } from "./startup-error.js";

const usages = {
  serve:
    "instances-api serve                                  run the server (PORT, HOST, DATA_DIR, DATABASE_URL, ENCRYPTION_KEY; see the README)",
  accountsCreate:
    "instances-api accounts create --organization <name>  create an organization and its first user; prints their secrets as JSON",
};
const usage = `Usage:
  ${usages.serve}
  ${usages.accountsCreate}
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
  const server = await startServer({ config: readConfig() });
  const signal = await signalled;
  server.logger.info({ signal }, "stopping: finishing in-flight requests");
  try {
    await server.close();
    server.logger.info("stopped");
    server.logger.flush(() => process.exit(0));
  } catch (error) {
    server.logger.error({ err: error }, "could not stop cleanly");
    server.logger.flush(() => process.exit(1));
  }
}

async function createAccountCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { organization: { type: "string" } }, strict: true });
  const organization = values.organization?.trim();
  if (!organization) throw new ConfigError("accounts create needs --organization <name>");
  const storage = await openStorage(readConfig().storage);
  try {
    const account = await createAccount(storage.accounts, organization);
    process.stdout.write(JSON.stringify(account) + "\n");
  } finally {
    await storage.close();
  }
}

const asksForHelp = (args: string[]) => args.includes("--help") || args.includes("-h");

async function main(argv: string[]): Promise<void> {
  const [command = "serve", ...rest] = argv;
  if (command === "--version" || command === "-v" || command === "version") return void console.log(version);
  if (command === "help" || command === "--help" || command === "-h") return void console.log(usage);
  if (command === "serve" && asksForHelp(rest)) return void console.log(`Usage:\n  ${usages.serve}`);
  if (command === "accounts" && asksForHelp(rest)) return void console.log(`Usage:\n  ${usages.accountsCreate}`);
  if (command === "serve" && rest.length === 0) return serve();
  if (command === "accounts" && rest[0] === "create") return createAccountCommand(rest.slice(1));
  throw new ConfigError(`unknown command: ${argv.join(" ")}\n${usage}`);
}

// A known reason not to run is one plain line: a bad setting or usage exits 2, a refusal to start
// (a wrong key, a damaged database, an unusable data directory) exits 1. Anything else is a fault
// of ours: its stack, exit 1.
main(process.argv.slice(2)).catch((error: unknown) => {
  const usage =
    error instanceof ConfigError || (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS"));
  const known = usage || error instanceof StartupError;
  console.error(`instances-api: ${known ? error.message : String((error as Error).stack ?? error)}`);
  process.exit(usage ? 2 : 1);
});
