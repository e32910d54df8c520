import { createInstancesClient, listAllInstances } from "@instances-api/client";

const client = createInstancesClient({
  baseUrl: "http://127.0.0.1:3000/your_moms/api-v2",
  userSecret: process.env.USER_SECRET ?? "",
  organizationSecret: process.env.ORGANIZATION_SECRET ?? "",
});

// Every instance tagged "helpdesk", however many pages it takes.
for await (const instance of listAllInstances(client, { tags: ["helpdesk"], pageSize: 100 })) {
  console.log(instance.id, instance.name, instance.your_mom.key);
}
