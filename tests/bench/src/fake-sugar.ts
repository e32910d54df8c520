// The proxy bench's vendor, in its own process (so that it does not share a core with autocannon
// or the server): a fake SugarCRM over TLS on 127.0.0.1 that grants tokens and answers
// GET /rest/v10/Contacts with a small JSON page to a request carrying a token it issued. Prints
// its port and the path of its CA certificate, then serves until killed.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { answerJson, goodPassword, startFakeVendor } from "@instances-api/server/test-support";

// "bench-direct-token": the token the bench's direct calls carry (the bench trusts no throwaway CA to be granted one).
const tokens = new Set<string>(["bench-direct-token"]);
const page = { records: Array.from({ length: 5 }, (_, i) => ({ id: `c${i}`, name: `Contact ${i}`, email: `c${i}@example.com` })) };
const vendor = await startFakeVendor({
  handle: (request, response) => {
    if (!tokens.has(String(request.headers["oauth-token"] ?? ""))) return answerJson(401, { error: "invalid_grant" })(request, response);
    answerJson(200, page)(request, response);
  },
});
vendor.on("POST /rest/v10/oauth2/token", (request, response) => {
  const grant = JSON.parse(request.body || "{}") as Record<string, string>;
  if (grant.password !== goodPassword) return answerJson(401, { error: "need_login" })(request, response);
  const access = randomBytes(12).toString("hex");
  tokens.add(access);
  answerJson(200, { access_token: access, refresh_token: randomBytes(12).toString("hex"), expires_in: 3600 })(request, response);
});
// Keep requests from piling up in memory over a long run: the bench reads none of them.
setInterval(() => (vendor.requests.length = 0), 1_000).unref();
const caFile = path.join(mkdtempSync(path.join(tmpdir(), "instances-api-bench-ca-")), "ca.pem");
writeFileSync(caFile, vendor.caPem);
process.stdout.write(`fake vendor on port ${vendor.port} ca ${caFile}\n`);
