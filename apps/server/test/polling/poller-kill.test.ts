// A poll survives kill -9 between the vendor's answer and the commit: a page's events are enqueued
// in the transaction that moves its checkpoint, so a server killed after SugarCRM answered a page
// and before that transaction committed has sent nothing and moved nothing, and the restarted
// server (once the dead one's lease ends) asks for the page again: every change arrives at least
// once, none is lost, and the checkpoint ends at the newest change. Runs the built server (dist)
// in a child process (fixtures/serve-polling.mjs holds each answered page back from the poller
// for a while, so the kill lands in between); needs `npm run build`.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { Webhook } from "standardwebhooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import {
  fakeSugarcrm,
  fakeSugarcrmRecords,
  goodPassword,
  startFakeVendor,
  sugarDate,
  type FakeVendor,
} from "../../test-support/fake-vendor.js";
import { until } from "../support/until.js";

const fixture = fileURLToPath(new URL("fixtures/serve-polling.mjs", import.meta.url));
const sugar = fakeSugarcrm({ expiresIn: 3600 });
const records = fakeSugarcrmRecords({ accepts: (token) => sugar.issued.some((t) => t.accessToken === token), pageCap: 2 });
let vendor: FakeVendor;
let receiver: EventReceiver;
const children: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  receiver = await startEventReceiver();
  // Plain HTTP: the fixture sends every vendor URL to it.
  vendor = await startFakeVendor({ tls: false, handle: (request) => records.answer(request) });
  vendor.on("POST /rest/v10/oauth2/token", (request) => sugar.answer(request));
});
afterAll(async () => {
  await vendor?.close();
  await receiver?.close();
});
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  apiUrl: string;
  /** The default account's header: printed by the first start only. */
  authorization: string | undefined;
  /** The pages the vendor answered, as the fixture printed them. */
  answered: { answered: string; records: boolean }[];
}

function serve(dataDir: string, holdMs: number): Promise<Served> {
  const child = spawn(process.execPath, [fixture, dataDir, String(vendor.port), String(receiver.port), String(holdMs)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = "";
    const answered: Served["answered"] = [];
    let served: Served | undefined;
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const lines = output.split("\n");
      output = lines.pop() ?? "";
      for (const line of lines) {
        const printed = JSON.parse(line) as Record<string, unknown>;
        if ("answered" in printed) answered.push(printed as Served["answered"][number]);
        else if (!served) resolve((served = { child, answered, ...(printed as { apiUrl: string; authorization: string | undefined }) }));
      }
    });
    child.on("exit", (code) => {
      if (!served) reject(new Error(`the server exited (${code}) before it listened: ${output}`));
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

async function createPolled(
  apiUrl: string,
  authorization: string,
  callbackPath: string,
): Promise<{ id: number; eventSigningSecret: string }> {
  const response = await fetch(`${apiUrl}/instances`, {
    method: "POST",
    headers: { Authorization: authorization, "Content-Type": "application/json" },
    body: JSON.stringify({
      your_mom: { key: "sugarcrmv2" },
      configuration: {
        "oauth.api.key": "key-1234567",
        "oauth.api.secret": "secret-1234567",
        "site.url": "crm.example.com",
        username: "sales",
        password: goodPassword,
        "event.notification.enabled": "true",
        "event.notification.callback.url": `http://127.0.0.1:${receiver.port}${callbackPath}`,
        "event.vendor.type": "polling",
        "event.poller.refresh_interval": "0.01",
        "event.poller.configuration": '{"Contacts": {}}',
      },
      name: "polled",
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { id: number; eventSigningSecret: string };
}

const delivered = (callbackPath: string, secret: string) =>
  receiver.received
    .filter((r) => r.path === callbackPath && r.type?.startsWith("vendor."))
    .map((r) => (new Webhook(secret).verify(r.body, r.headers) as { data: { recordId: string } }).data.recordId);

function checkpointsOf(dataDir: string, id: number): Record<string, { since: number; seen: string[] }> {
  const db = new Database(path.join(dataDir, "instances.sqlite"), { readonly: true });
  try {
    const row = db.prepare("SELECT checkpoints FROM instance_polls WHERE instance_id = ?").get(id) as { checkpoints: string };
    return JSON.parse(row.checkpoints) as Record<string, { since: number; seen: string[] }>;
  } finally {
    db.close();
  }
}

/**
 * `count` changes of Contacts, `perSecond` at a time a second apart (SugarCRM's dates are to the
 * second, so several share one); their ids, and the checkpoint they should leave: the newest
 * change's second and the ids changed in it.
 */
async function changeContacts(prefix: string, count: number, perSecond: number) {
  const changedAt = new Map<string, number>();
  for (let n = 0; n < count; n++) {
    if (n > 0 && n % perSecond === 0) await new Promise((resolve) => setTimeout(resolve, 1_000));
    const at = Date.now();
    const id = `${prefix}${n}`;
    records.put("Contacts", { id, date_entered: sugarDate(at), date_modified: sugarDate(at) });
    changedAt.set(id, at);
  }
  const second = (ms: number) => Math.floor(ms / 1000) * 1000;
  const newest = Math.max(...[...changedAt.values()].map(second));
  const seen = [...changedAt].filter(([, at]) => second(at) === newest).map(([id]) => id);
  return { ids: [...changedAt.keys()], checkpoint: { since: newest, seen: seen.sort() } };
}

/** The instance's checkpoint of Contacts, its seen ids in order. */
function contactsCheckpoint(dataDir: string, id: number) {
  const { Contacts, ...others } = checkpointsOf(dataDir, id);
  expect(others).toEqual({});
  return { since: Contacts!.since, seen: [...Contacts!.seen].sort() };
}

describe("kill -9 of a polling server", () => {
  it("between the vendor's answer and the commit: the restarted server delivers every change, the checkpoint at the newest", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-poll-kill-"));
    dirs.push(dataDir);
    const first = await serve(dataDir, 1_500);
    const authorization = first.authorization!;
    const instance = await createPolled(first.apiUrl, authorization, "/killed-once");
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // changes in a later second than the creation
    const { ids, checkpoint } = await changeContacts("k", 5, 3);
    // The first page holding records, read to its last byte and held back from the poller: killed there.
    await until(() => (first.answered.some((page) => page.records) ? true : undefined), 30);
    await killed(first.child);
    expect(delivered("/killed-once", instance.eventSigningSecret)).toEqual([]);

    const second = await serve(dataDir, 0);
    await until(() => {
      const got = new Set(delivered("/killed-once", instance.eventSigningSecret));
      return ids.every((id) => got.has(id)) ? true : undefined;
    }, 45);
    const answeredBefore = second.answered.length;
    await until(() => (second.answered.length >= answeredBefore + 2 ? true : undefined), 30); // two more polls: nothing new
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Each change once: the killed page was never committed, so it was never sent.
    expect(delivered("/killed-once", instance.eventSigningSecret).sort()).toEqual([...ids].sort());
    expect(contactsCheckpoint(dataDir, instance.id)).toEqual(checkpoint);
  }, 120_000);

  it("again and again, at whatever page the vendor had just answered: nothing lost, nothing sent that was not committed", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-poll-kill-"));
    dirs.push(dataDir);
    let served = await serve(dataDir, 800);
    const authorization = served.authorization!;
    const instance = await createPolled(served.apiUrl, authorization, "/killed-often");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const { ids, checkpoint } = await changeContacts("m", 12, 4);
    for (const pages of [1, 2, 3]) {
      // Killed after the vendor answered the `pages`th page with records in this run.
      await until(() => (served.answered.filter((page) => page.records).length >= pages ? true : undefined), 30);
      await killed(served.child);
      served = await serve(dataDir, 800);
    }
    await killed(served.child);
    const final = await serve(dataDir, 0);
    await until(() => {
      const got = new Set(delivered("/killed-often", instance.eventSigningSecret));
      return ids.every((id) => got.has(id)) ? true : undefined;
    }, 60);
    const answeredBefore = final.answered.length;
    await until(() => (final.answered.length >= answeredBefore + 2 ? true : undefined), 30);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = delivered("/killed-often", instance.eventSigningSecret);
    expect(new Set(sent)).toEqual(new Set(ids));
    // At least once: a change is sent again only when a kill came between its commit and its delivery.
    expect(sent.length).toBeLessThan(ids.length * 2);
    expect(contactsCheckpoint(dataDir, instance.id)).toEqual(checkpoint);
  }, 180_000);
});
