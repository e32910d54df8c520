import { client } from "./client.js";

const { data, error } = await client.POST("/instances", {
  params: { header: { "Idempotency-Key": "7f1f7a36-7c2e-4f4e-9d8c-2d5b1c1e6a10" } },
  body: {
    your_mom: { key: "freshservice" },
    configuration: { username: "agent@example.com", password: "s3cret", subdomain: "acme" },
    tags: ["helpdesk"],
    name: "Help desk",
  },
});
if (error) throw new Error(error.message); // e.g. error.missingEntries
console.log(data.id, data.token); // keep the token: it is shown only now
