// The benches' vendor, in its own process (so that it does not share a core with autocannon or the
// server): a fake SugarCRM over TLS on 127.0.0.1. It grants tokens (the password grant, and the
// refresh-token grant once per refresh token, as SugarCRM spends one), answers
// GET /rest/v10/Contacts with a small JSON page to a request carrying a token it issued, and
// counts the grants at GET /bench/grants (for the refresh bench; DELETE starts the count again).
// PUT /bench/grant-delay with {"ms": 200} delays every token grant from then on by that long: a
// token endpoint across the internet rather than on loopback. Prints its port and the path of its
// CA certificate, then serves until killed.
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { answerJson, goodPassword, startFakeVendor } from "@instances-api/server/test-support";

// "bench-direct-token": the token the bench's direct calls carry (the bench trusts no throwaway CA to be granted one).
const tokens = new Set<string>(["bench-direct-token"]);
const refreshTokens = new Set<string>();
const grants = {
  password: 0,
  refresh: 0,
  /** Refresh grants refused: a refresh token spent before, or never issued. */
  refused: 0,
  /** When the first and the last refresh grant were answered (epoch ms). */
  firstRefreshAt: 0,
  lastRefreshAt: 0,
};
let grantDelayMs = 0;
const page = { records: Array.from({ length: 5 }, (_, i) => ({ id: `c${i}`, name: `Contact ${i}`, email: `c${i}@example.com` })) };
const vendor = await startFakeVendor({
  handle: (request, response) => {
    if (!tokens.has(String(request.headers["oauth-token"] ?? ""))) return answerJson(401, { error: "invalid_grant" })(request, response);
    answerJson(200, page)(request, response);
  },
});
const issue = () => {
  const access = randomBytes(12).toString("hex");
  const refresh = randomBytes(12).toString("hex");
  tokens.add(access);
  refreshTokens.add(refresh);
  return { access_token: access, refresh_token: refresh, expires_in: 3600 };
};
vendor.on("POST /rest/v10/oauth2/token", async (request, response) => {
  if (grantDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, grantDelayMs));
  const grant = JSON.parse(request.body || "{}") as Record<string, string>;
  if (grant.grant_type === "refresh_token") {
    if (!refreshTokens.delete(grant.refresh_token ?? "")) {
      grants.refused += 1;
      return answerJson(400, { error: "invalid_grant", error_message: "Invalid refresh token" })(request, response);
    }
    grants.refresh += 1;
    grants.lastRefreshAt = Date.now();
    grants.firstRefreshAt ||= grants.lastRefreshAt;
    return answerJson(200, issue())(request, response);
  }
  if (grant.password !== goodPassword) return answerJson(401, { error: "need_login" })(request, response);
  grants.password += 1;
  answerJson(200, issue())(request, response);
});
vendor.on("GET /bench/grants", answerJson(200, grants));
vendor.on("PUT /bench/grant-delay", (request, response) => {
  grantDelayMs = Number((JSON.parse(request.body || "{}") as { ms?: number }).ms ?? 0);
  answerJson(200, { ms: grantDelayMs })(request, response);
});
vendor.on("DELETE /bench/grants", (request, response) => {
  Object.assign(grants, { password: 0, refresh: 0, refused: 0, firstRefreshAt: 0, lastRefreshAt: 0 });
  answerJson(200, grants)(request, response);
});
// Keep requests from piling up in memory over a long run: the benches read none of them.
setInterval(() => (vendor.requests.length = 0), 1_000).unref();
const caFile = path.join(mkdtempSync(path.join(tmpdir(), "instances-api-bench-ca-")), "ca.pem");
writeFileSync(caFile, vendor.caPem);
process.stdout.write(`fake vendor on port ${vendor.port} ca ${caFile}\n`);
