import { createServer } from "node:http";
import { EventVerificationError, verifyEvent } from "@instances-api/client";

// The instance's eventSigningSecret (whsec_...): from its create answer, or its last token rotation.
const secret = process.env.EVENT_SIGNING_SECRET ?? "";

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    try {
      // The body as received: parsed and serialized again, it would no longer verify.
      const event = verifyEvent(secret, req.headers, Buffer.concat(chunks));
      // `type` narrows the event: here `data.valid` is typed `false`.
      if (event.type === "instance.invalid") console.log(`instance ${event.data.id}: the vendor refused its credentials`);
      res.writeHead(204).end(); // within 10 seconds; any other answer is retried (the same webhook-id)
    } catch (error) {
      if (!(error instanceof EventVerificationError)) throw error;
      res.writeHead(400).end(error.message);
    }
  });
}).listen(8080);
