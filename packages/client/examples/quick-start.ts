import { createInstance, createInstancesClient } from "@instances-api/client";

const client = createInstancesClient({
  baseUrl: "http://127.0.0.1:3000/your_moms/api-v2",
  userSecret: process.env.USER_SECRET ?? "",
  organizationSecret: process.env.ORGANIZATION_SECRET ?? "",
});

// `your_mom.key` chooses the connector, and with it the configuration entries that are required:
// leave out `subdomain`, or write `subdomian`, and this does not compile, naming `subdomain`.
const { data, error } = await createInstance(client, {
  your_mom: { key: "freshservice" },
  configuration: { username: "agent@example.com", password: "s3cret", subdomain: "acme" },
  tags: ["helpdesk"],
  name: "Help desk",
});
if (error) throw new Error(error.message);
console.log(`created instance ${data.id}; keep its token: ${data.token}`);
