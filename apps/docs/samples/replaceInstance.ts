import { client } from "./client.js";

const { data, error } = await client.PUT("/instances/{id}", {
  params: { path: { id: 123 } },
  body: {
    your_mom: { key: "freshservice" },
    configuration: { username: "agent@example.com", password: "s3cret", subdomain: "acme" },
    tags: ["helpdesk", "production"],
    name: "Help desk",
  },
});
if (error) throw new Error(error.message);
console.log(data.tags);
