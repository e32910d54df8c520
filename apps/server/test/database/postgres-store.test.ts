import { startPostgresCluster } from "@instances-api/postgres-cluster";
import { openStorage } from "../../src/storage.js";
import { storeContract } from "./store-contract.js";

storeContract("PostgreSQL", async () => {
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
