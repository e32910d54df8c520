// Every operation has its samples, and a missing one stops the build with a message that says
// which file to add. (The TypeScript samples are compiled by `npm run typecheck`.)
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readSamples } from "../src/samples.js";

describe("readSamples", () => {
  it("shows the TypeScript sample self-contained, with the client it imports inlined", () => {
    const { typescript, curl } = readSamples("getInstance");
    expect(typescript).toMatch(/^import \{ createInstancesClient \} from "@instances-api\/client";/);
    expect(typescript).toContain("const client = createInstancesClient({");
    expect(typescript).toContain('client.GET("/instances/{id}"');
    expect(curl).toMatch(/^curl -i 'http:\/\/localhost:3000\/your_moms\/api-v2\/instances\/123'/);
  });

  it("shows a sample that builds its own client (one with an instance token) as it is, with its Element header in curl", () => {
    const { typescript, curl } = readSamples("getCurrentInstance");
    expect(typescript).toMatch(/^import \{ createInstancesClient \} from "@instances-api\/client";/);
    expect(typescript).toContain('instanceToken: "<INSERT_INSTANCE_TOKEN>"');
    expect(typescript).toContain('.GET("/instance")');
    expect(typescript).not.toContain("./client.js");
    expect(curl).toMatch(/^curl -i 'http:\/\/localhost:3000\/your_moms\/api-v2\/instance'/m);
    expect(curl).toContain("Element <INSERT_INSTANCE_TOKEN>");
  });

  it("refuses a sample that neither imports the shared client nor builds its own", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "docs-samples-"));
    writeFileSync(path.join(dir, "client.ts"), "export const client = 1;\n");
    writeFileSync(path.join(dir, "getInstance.ts"), "console.log(1);\n");
    writeFileSync(path.join(dir, "getInstance.sh"), "curl x\n");
    expect(() => readSamples("getInstance", dir)).toThrow(/must start with import \{ client \}.*or build its own client/);
  });

  it("names the file to add when a sample is missing", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "docs-samples-"));
    writeFileSync(path.join(dir, "client.ts"), "export const client = 1;\n");
    expect(() => readSamples("listInstances", dir)).toThrow(/no ts sample for listInstances: add .*listInstances\.ts/);
  });

  it("makes a new Idempotency-Key for each create, so that an edited body is not refused as a reuse", () => {
    const { typescript, curl } = readSamples("createInstance");
    const literalUuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    expect(typescript).toContain("crypto.randomUUID()");
    expect(curl).toContain("$(uuidgen)");
    expect(typescript).not.toMatch(literalUuid);
    expect(curl).not.toMatch(literalUuid);
  });
});
