import { createInstancesClient } from "@instances-api/client";

// A client that speaks for one instance: every request carries its token as the Element part.
const instanceClient = createInstancesClient({
  baseUrl: "http://127.0.0.1:3000/your_moms/api-v2",
  userSecret: "<INSERT_USER_SECRET>",
  organizationSecret: "<INSERT_ORGANIZATION_SECRET>",
  instanceToken: "<INSERT_INSTANCE_TOKEN>", // as the instance's create (or its last token rotation) answered it
});

const { data, error } = await instanceClient.GET("/instance");
if (error) throw new Error(error.message);
console.log(data.id, data.name, data.your_mom.key);
