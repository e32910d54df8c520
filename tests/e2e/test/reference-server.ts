// The real reference server, started in-process on an ephemeral port of 127.0.0.1 with a
// temporary data dir, and the secrets of its default account.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { embeddedConfig, startServer, type RunningServer } from "@instances-api/server";

export interface ReferenceServer {
  server: RunningServer;
  userSecret: string;
  organizationSecret: string;
  stop: () => Promise<void>;
}

export async function startReferenceServer(): Promise<ReferenceServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-client-"));
  let announced = "";
  const server = await startServer({
    config: embeddedConfig(dataDir, { logLevel: "warn" }),
    // An instance with notifications on gets its events nowhere: no test sends off this machine.
    outbound: { send: () => Promise.reject(new Error("the end-to-end tests send no events")), checkOutboundUrl: () => Promise.resolve() },
    announce: (line) => {
      announced = line;
    },
  });
  const [, userSecret, organizationSecret] = /User (\S+), Organization (\S+)$/.exec(announced) ?? [];
  if (!userSecret || !organizationSecret) throw new Error(`no default account announced: ${announced}`);
  return {
    server,
    userSecret,
    organizationSecret,
    stop: async () => {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
