// A refresh survives kill -9: its due time is in the database, so a server killed before a
// refresh is due, or while one is under way (its claim held), refreshes after it restarts: at
// once when it is overdue, or once the dead process's lease ends. Runs the built server (dist)
// in a child process; needs `npm run build`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { until } from "../support/until.js";
import { fakeSugarcrm, goodPassword, startFakeVendor, type FakeAnswer, type FakeVendor } from "../../test-support/fake-vendor.js";

const fixture = fileURLToPath(new URL("fixtures/serve-live.mjs", import.meta.url));
let vendor: FakeVendor;
const children: ChildProcess[] = [];
const dirs: string[] = [];

// Plain HTTP: the fixture sends every vendor URL to it, as the tests' loopback sender does.
beforeAll(async () => (vendor = await startFakeVendor({ tls: false, handle: () => ({ status: 500, body: {} }) })));
afterAll(() => vendor.close());
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  apiUrl: string;
  /** The default account's header: printed by the first start only. */
  authorization: string | undefined;
}

function serve(dataDir: string, leaseMs: number): Promise<Served> {
  const child = spawn(process.execPath, [fixture, dataDir, String(vendor.port), String(leaseMs)], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n")[0];
      if (output.includes("\n") && line) resolve({ child, ...(JSON.parse(line) as Omit<Served, "child">) });
    });
    child.on("exit", (code) => reject(new Error(`the server exited (${code}) before it listened: ${output}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

const refreshGrants = () => vendor.requests.filter((r) => r.body.includes('"grant_type":"refresh_token"'));
const sugar = {
  your_mom: { key: "sugarcrmv2" },
  configuration: { "oauth.api.key": "k", "oauth.api.secret": "s", "site.url": "crm.example.com", username: "u", password: goodPassword },
  name: "CRM",
};

async function createSugarcrm(apiUrl: string, authorization: string): Promise<number> {
  const response = await fetch(`${apiUrl}/instances`, {
    method: "POST",
    headers: { Authorization: authorization, "Content-Type": "application/json" },
    body: JSON.stringify(sugar),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { id: number }).id;
}

async function instance(apiUrl: string, authorization: string, id: number) {
  const response = await fetch(`${apiUrl}/instances/${id}`, { headers: { Authorization: authorization } });
  return (await response.json()) as { valid: boolean; provisionInteractions: { step: string; outcome: string }[] };
}

describe("kill -9", () => {
  it("before a refresh is due: the restarted server refreshes it", async () => {
    const fake = fakeSugarcrm({ expiresIn: 3 });
    vendor.handle = (request) => fake.answer(request);
    vendor.requests.length = 0;
    const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-kill-"));
    dirs.push(dataDir);

    const first = await serve(dataDir, 60_000);
    const authorization = first.authorization!;
    const id = await createSugarcrm(first.apiUrl, authorization);
    await killed(first.child);
    expect(refreshGrants()).toHaveLength(0);

    const second = await serve(dataDir, 60_000);
    const grant = await until(() => refreshGrants()[0], 30);
    expect(JSON.parse(grant.body)).toMatchObject({ refresh_token: fake.issued[0]!.refreshToken });
    const after = await until(async () => {
      const now = await instance(second.apiUrl, authorization, id);
      return now.provisionInteractions.some((i) => i.step === "refresh") ? now : undefined;
    }, 30);
    expect(after.valid).toBe(true);
    expect(after.provisionInteractions.at(-1)).toMatchObject({ step: "refresh", outcome: "accepted" });
  }, 60_000);

  it("while a refresh is under way: the restarted server takes it over once the dead one's lease ends", async () => {
    const fake = fakeSugarcrm({ expiresIn: 2 });
    let hang = true;
    vendor.handle = (request): FakeAnswer | undefined =>
      hang && request.body.includes('"refresh_token"') ? undefined : fake.answer(request);
    vendor.requests.length = 0;
    const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-kill-"));
    dirs.push(dataDir);

    const first = await serve(dataDir, 2_000);
    const authorization = first.authorization!;
    const id = await createSugarcrm(first.apiUrl, authorization);
    await until(() => refreshGrants()[0], 30); // claimed, and hanging at the vendor
    await killed(first.child);
    hang = false;

    const second = await serve(dataDir, 2_000);
    const after = await until(async () => {
      const now = await instance(second.apiUrl, authorization, id);
      return now.provisionInteractions.some((i) => i.step === "refresh") ? now : undefined;
    }, 30);
    expect(after.valid).toBe(true);
    const grants = refreshGrants().map((r) => (JSON.parse(r.body) as { refresh_token: string }).refresh_token);
    // The dead process's attempt and the new one, with the same token: it was never answered.
    expect(grants.slice(0, 2)).toEqual([fake.issued[0]!.refreshToken, fake.issued[0]!.refreshToken]);
  }, 60_000);

  it("while a refresh whose answer is lost consumed a rotating refresh token: the server grants anew from the stored password", async () => {
    // The vendor rotates refresh tokens (as SugarCRM can): the first refresh consumes the token
    // and its answer never arrives (the replica dies). Resent, the token is refused: the
    // instance was left invalid for good before this was fixed.
    const fake = fakeSugarcrm({ expiresIn: 2 });
    let swallow = true;
    vendor.handle = (request): FakeAnswer | undefined => {
      const answer = fake.answer(request); // the token is consumed whether or not the answer arrives
      return swallow && request.body.includes('"refresh_token"') ? undefined : answer;
    };
    vendor.requests.length = 0;
    const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-kill-"));
    dirs.push(dataDir);

    const first = await serve(dataDir, 2_000);
    const authorization = first.authorization!;
    const id = await createSugarcrm(first.apiUrl, authorization);
    await until(() => refreshGrants()[0], 30); // consumed at the vendor, the answer swallowed
    await killed(first.child);
    swallow = false;

    const second = await serve(dataDir, 2_000);
    const after = await until(async () => {
      const now = await instance(second.apiUrl, authorization, id);
      return now.provisionInteractions.some((i) => i.step === "refresh" && i.outcome === "refused") ? now : undefined;
    }, 30);
    expect(after.valid).toBe(true);
    const refused = after.provisionInteractions.findIndex((i) => i.step === "refresh" && i.outcome === "refused");
    expect(after.provisionInteractions[refused + 1]).toMatchObject({ step: "token", outcome: "accepted" });
    const passwordGrants = vendor.requests.filter((r) => r.body.includes('"grant_type":"password"'));
    expect(passwordGrants).toHaveLength(2); // the create's, and the one after the refused refresh
  }, 60_000);
});
