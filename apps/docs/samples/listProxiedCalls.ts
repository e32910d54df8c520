import { client } from "./client.js";

const { data, error } = await client.GET("/instances/{id}/proxy-calls", { params: { path: { id: 123 } } });
if (error) throw new Error(error.message);
console.log(data.total, data.calls[0]); // how many, and the newest
