import { client } from "./client.js";

const { data, error } = await client.POST("/instances/{id}/events/simulated-change", {
  params: { path: { id: 123 } },
  body: {
    type: "vendor.record.updated",
    resource: "Contacts",
    recordId: "f16760a4",
    record: { id: "f16760a4", name: "Ada Lovelace" },
  },
});
if (error) throw new Error(error.message); // 409: the vendor is not simulated (PROVISIONING=sandbox), or notifications are off
console.log(data.webhookId, data.eventType); // vendor.record.updated, pending; sent at once, marked "simulated": true
