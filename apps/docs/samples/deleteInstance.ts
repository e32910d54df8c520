import { client } from "./client.js";

const { error, response } = await client.DELETE("/instances/{id}", { params: { path: { id: 123 } } });
if (error) throw new Error(error.message);
console.log(response.status); // 204
