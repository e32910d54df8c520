import { client } from "./client.js";
import { createInstance } from "@instances-api/client";

// One new key per instance you mean to create: resend the same request with the same key after a
// network error and no second instance is made. Editing the body needs a new key.
const idempotencyKey = crypto.randomUUID();
// createInstance checks the body against its connector's entries: a missing or misspelled one
// is a compile error that names it.
const { data, error } = await createInstance(
  client,
  {
    your_mom: { key: "freshservice" },
    configuration: { username: "agent@example.com", password: "s3cret", subdomain: "acme" },
    tags: ["helpdesk"],
    name: "Help desk",
  },
  { params: { header: { "Idempotency-Key": idempotencyKey } } },
);
if (error) throw new Error(error.message); // e.g. error.missingEntries
// Keep the token and the event signing secret: they are shown only now (and, without an
// Idempotency-Key, the answer always carries them).
console.log(data.id, data.token, data.eventSigningSecret);
