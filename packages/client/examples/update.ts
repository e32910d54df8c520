import { createInstancesClient, updateInstance } from "@instances-api/client";

const client = createInstancesClient({
  baseUrl: "http://127.0.0.1:3000/your_moms/api-v2",
  userSecret: process.env.USER_SECRET ?? "",
  organizationSecret: process.env.ORGANIZATION_SECRET ?? "",
});

// Read it, then change it only if nobody else did since: If-Match with the ETag read (else 412).
const { data: instance, response } = await client.GET("/instances/{id}", { params: { path: { id: 42 } } });
const etag = response.headers.get("ETag");
if (instance?.your_mom.key === "freshservice" && etag) {
  // Naming the connector types `configuration` as its entries; `null` removes an optional one.
  const { error } = await updateInstance(
    client,
    instance.id,
    "freshservice",
    { name: "Help desk (prod)", configuration: { subdomain: "acme-prod", "event.notification.callback.url": null } },
    { params: { header: { "If-Match": etag } } },
  );
  if (error) console.log(error.message);
}
