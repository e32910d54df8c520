import { client } from "./client.js";

// One new key per instance you mean to create: resend the same request with the same key after a
// network error and no second instance is made. Editing the body needs a new key.
const idempotencyKey = crypto.randomUUID();
const { data, error } = await client.POST("/instances", {
  params: { header: { "Idempotency-Key": idempotencyKey } },
  body: {
    your_mom: { key: "freshservice" },
    configuration: { username: "agent@example.com", password: "s3cret", subdomain: "acme" },
    tags: ["helpdesk"],
    name: "Help desk",
  },
});
if (error) throw new Error(error.message); // e.g. error.missingEntries
console.log(data.id, data.token); // keep the token: it is shown only now
