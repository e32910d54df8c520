import { client } from "./client.js";

const { data, error } = await client.POST("/instances/{id}/token", { params: { path: { id: 123 } } });
if (error) throw new Error(error.message);
console.log(data.token); // the new token; the old one no longer works
