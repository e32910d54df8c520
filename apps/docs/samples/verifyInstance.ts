import { client } from "./client.js";

const { data, error } = await client.POST("/instances/{id}/verify", { params: { path: { id: 123 } } });
if (error) throw new Error(error.message);
console.log(data.valid, data.provisionInteractions.at(-1)); // the vendor's verdict, and what it said
