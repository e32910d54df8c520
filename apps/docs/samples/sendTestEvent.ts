import { client } from "./client.js";

const { data, error } = await client.POST("/instances/{id}/events/test", { params: { path: { id: 123 } } });
if (error) throw new Error(error.message); // 409: the instance's notifications are off; 429: one a second at most
console.log(data.webhookId, data.status); // pending; GET /instances/123/deliveries shows how it went
