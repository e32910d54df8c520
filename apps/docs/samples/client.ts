import { createInstancesClient } from "@instances-api/client";

export const client = createInstancesClient({
  baseUrl: "http://127.0.0.1:3000/your_moms/api-v2",
  userSecret: "<INSERT_USER_SECRET>",
  organizationSecret: "<INSERT_ORGANIZATION_SECRET>",
});
