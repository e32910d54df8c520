// The real reference server, started in-process on an ephemeral port of 127.0.0.1 with a
// temporary data dir, and the secrets of its default account.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, type RunningServer } from "@instances-api/server";

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
    config: {
      host: "127.0.0.1",
      port: 0,
      dataDir,
      storage: { kind: "sqlite", file: path.join(dataDir, "instances.sqlite") },
      encryptionKey: undefined,
      validateResponses: true,
      logLevel: "warn",
    },
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
