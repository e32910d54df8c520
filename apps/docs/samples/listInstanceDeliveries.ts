import { client } from "./client.js";

const { data, error } = await client.GET("/instances/{id}/deliveries", { params: { path: { id: 123 } } });
if (error) throw new Error(error.message);
for (const delivery of data) console.log(delivery.eventType, delivery.webhookId, delivery.status, delivery.attempts);
