// The start-up log line says how the server provisions and which hosts the outbound guard lets
// through: an OUTBOUND_ALLOWED_HOSTS left set in production must be visible at first glance.
import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../harness.js";

describe("start-up log line", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  function listeningLine(test: TestServer): Record<string, unknown> | undefined {
    return test.logs.find((line) => typeof line.msg === "string" && line.msg.startsWith("listening on "));
  }

  it("names the allowed outbound hosts and the provisioning mode when they are set", async () => {
    server = await startTestServer({ config: { outboundAllowedHosts: ["127.0.0.1:8443", "[::1]:9000"], provisioning: "live" } });
    expect(listeningLine(server)).toMatchObject({
      msg: `listening on ${server.server.url} (PROVISIONING=live); OUTBOUND_ALLOWED_HOSTS lets 127.0.0.1:8443, [::1]:9000 through (tests and local development only)`,
      provisioning: "live",
      outboundAllowedHosts: ["127.0.0.1:8443", "[::1]:9000"],
    });
  });

  it("says nothing of allowed hosts when there are none", async () => {
    server = await startTestServer();
    const line = listeningLine(server);
    expect(line).toMatchObject({ msg: `listening on ${server.server.url} (PROVISIONING=sandbox)`, provisioning: "sandbox" });
    expect(line).not.toHaveProperty("outboundAllowedHosts");
  });
});
