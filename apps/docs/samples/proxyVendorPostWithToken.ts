import { createInstancesClient, isVendorAnswer, proxy } from "@instances-api/client";

// The instance token names the instance: keep it as the application's, with the organization's secrets.
const client = createInstancesClient({
  baseUrl: "http://127.0.0.1:3000/your_moms/api-v2",
  userSecret: "<INSERT_USER_SECRET>",
  organizationSecret: "<INSERT_ORGANIZATION_SECRET>",
  instanceToken: "<INSERT_INSTANCE_TOKEN>",
});

const answer = await proxy(client, "current", { method: "POST", path: "Contacts", body: { first_name: "Ada", last_name: "Lovelace" } });
// The vendor's own answer carries X-Proxied-From; without it, the answer is the platform's Problem.
console.log(isVendorAnswer(answer), answer.status, await answer.text());
