import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { bundle } from "./bundle.js";

const require = createRequire(import.meta.url);

describe("the bundle", () => {
  it("is a valid OpenAPI 3.1 document (the official 3.1 schema)", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(bundle));
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("is exported as JSON and as the same document in YAML", () => {
    const yaml = parseYaml(readFileSync(require.resolve("@instances-api/spec/openapi.yaml"), "utf8")) as unknown;
    expect(yaml).toEqual(require("@instances-api/spec/openapi.json"));
  });

  it("serves the seeds' base path on the hosted platform and on the local server", () => {
    expect((bundle.servers as { url: string }[]).map((s) => s.url)).toEqual([
      "https://api.cloud-your_moms.com/your_moms/api-v2",
      "http://localhost:3000/your_moms/api-v2",
    ]);
  });

  it("has no unresolved or external $ref", () => {
    const refs = JSON.stringify(bundle).match(/"\$ref":"[^"]*"/g) ?? [];
    expect(refs.filter((ref) => !ref.startsWith('"$ref":"#/'))).toEqual([]);
  });

  it("documents every operation with an operationId, a tag and the error body on each 4xx and 5xx", () => {
    const methods = ["get", "put", "post", "patch", "delete"];
    const operations = Object.values(bundle.paths).flatMap((item) =>
      methods.filter((m) => m in item).map((m) => item[m] as { operationId: string; tags: string[]; responses: Record<string, unknown> }),
    );
    expect(operations.map((op) => op.operationId).sort()).toEqual([
      "createInstance",
      "createVendorHookEvent",
      "deleteInstance",
      "getConnector",
      "getCurrentInstance",
      "getInstance",
      "listConnectors",
      "listInstanceDeliveries",
      "listInstances",
      "listProxiedCalls",
      "proxyVendorDelete",
      "proxyVendorDeleteWithToken",
      "proxyVendorGet",
      "proxyVendorGetWithToken",
      "proxyVendorPatch",
      "proxyVendorPatchWithToken",
      "proxyVendorPost",
      "proxyVendorPostWithToken",
      "proxyVendorPut",
      "proxyVendorPutWithToken",
      "replaceInstance",
      "rotateInstanceToken",
      "sendTestEvent",
      "simulateVendorChange",
      "updateInstance",
      "verifyInstance",
    ]);
    for (const op of operations) {
      expect(op.tags.length, op.operationId).toBeGreaterThan(0);
      const errors = Object.entries(op.responses).filter(([status]) => /^[45]/.test(status));
      expect(errors.length, op.operationId).toBeGreaterThan(0);
      for (const [status, response] of errors) {
        expect((response as { $ref?: string }).$ref, `${op.operationId} ${status}`).toMatch(/^#\/components\/responses\//);
      }
    }
  });
});
