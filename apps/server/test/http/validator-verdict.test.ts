// The validator's verdict is translated once, after it: a body the validator passed is never
// validated again; one it refused is explained in its connector's terms.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ConnectorRegistry } from "../../src/connectors/registry.js";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const valid = {
  your_mom: { key: "freshservice" },
  configuration: { username: "u", password: "p", subdomain: "acme" },
  tags: ["t"],
  name: "n",
};

describe("the validator's verdict", () => {
  it("leaves a valid create body to the validator alone: the registry does not check it again", async () => {
    const check = vi.spyOn(ConnectorRegistry.prototype, "checkCreateBody");
    try {
      const created = await t.api("/instances", { method: "POST", json: valid });
      expect(created.status).toBe(200);
      const { id } = await body<{ id: number }>(created);
      const replaced = await t.api(`/instances/${id}`, { method: "PUT", json: { ...valid, name: "m" } });
      expect(replaced.status).toBe(200);
      expect(check).not.toHaveBeenCalled();
    } finally {
      check.mockRestore();
    }
  });

  it("explains a refused create body once, in the connector's terms", async () => {
    const check = vi.spyOn(ConnectorRegistry.prototype, "checkCreateBody");
    try {
      const { subdomain: _left, ...configuration } = valid.configuration;
      const answer = await t.api("/instances", {
        method: "POST",
        json: { ...valid, configuration: { ...configuration, subdomian: "acme" } },
      });
      expect(answer.status).toBe(400);
      const problem = await body<{ message: string }>(answer);
      expect(problem.message).toMatch(/subdomain/);
      expect(check).toHaveBeenCalledTimes(1);
    } finally {
      check.mockRestore();
    }
  });
});
