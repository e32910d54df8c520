import { client } from "./client.js";

const { data, error, response } = await client.GET("/instances/{id}", { params: { path: { id: 123 } } });
if (error) throw new Error(error.message);
console.log(data.name, response.headers.get("ETag"));
