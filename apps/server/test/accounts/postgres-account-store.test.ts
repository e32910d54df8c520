import { startPostgresCluster } from "@instances-api/postgres-cluster";
import { openStorage } from "../../src/storage.js";
import { accountStoreContract } from "./account-store-contract.js";

accountStoreContract("PostgreSQL", async () => {
  const cluster = await startPostgresCluster();
  const storage = await openStorage({ kind: "postgres", url: cluster.url });
  return {
    storage,
    close: async () => {
      await storage.close();
      cluster.stop();
    },
  };
});
