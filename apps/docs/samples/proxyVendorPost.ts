import { client } from "./client.js";
import { isVendorAnswer, proxy } from "@instances-api/client";

const answer = await proxy(client, 123, { method: "POST", path: "Contacts", body: { first_name: "Ada", last_name: "Lovelace" } });
// The vendor's own answer carries X-Proxied-From; without it, the answer is the platform's Problem.
console.log(isVendorAnswer(answer), answer.status, await answer.text());
