import { client } from "./client.js";

const { data, error } = await client.PATCH("/instances/{id}", {
  params: { path: { id: 123 }, header: { "If-Match": '"3"' } },
  body: { name: "Help desk (production)", configuration: { password: "n3w-Passw0rd" } },
});
if (error) throw new Error(error.message); // 412: someone changed it since you read it
console.log(data.configuration);
