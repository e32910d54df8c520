import { client } from "./client.js";
import { isVendorAnswer, proxy } from "@instances-api/client";

const answer = await proxy(client, 123, { method: "PATCH", path: "tickets/42", body: { status: 4 } });
// The vendor's own answer carries X-Proxied-From; without it, the answer is the platform's Problem.
console.log(isVendorAnswer(answer), answer.status, await answer.text());
