// Events survive kill -9: the server (started as users start it) is killed while clients create
// instances with notifications on and the receiver refuses every delivery, then restarted on the
// same data dir. Every create that was acknowledged gets its instance.created event delivered
// after the restart, with the webhook-id its first attempt had.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { eventEnv, startEventReceiver, type EventReceiver } from "@instances-api/server/test-support";
import { afterEach, describe, expect, it } from "vitest";
import { spawnServer, type SpawnedServer } from "./spawned-server.js";

const servers: SpawnedServer[] = [];
const dirs: string[] = [];
let receiver: EventReceiver | undefined;

afterEach(async () => {
  for (const server of servers.splice(0)) server.child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  await receiver?.close();
});

describe("kill -9 with events pending", () => {
  it("delivers every acknowledged create's event after the restart", async () => {
    receiver = await startEventReceiver();
    receiver.answer(() => 503); // nothing is delivered before the crash: every event stays pending
    const dataDir = mkdtempSync(path.join(tmpdir(), "instances-api-events-crash-"));
    dirs.push(dataDir);
    const env = { DATA_DIR: dataDir, ...eventEnv(receiver) };
    const first = await spawnServer(env);
    servers.push(first);
    const authorization = first.authorization!;

    const acknowledged: number[] = [];
    let dead = false;
    const create = async (client: number) => {
      for (let n = 0; !dead; n++) {
        try {
          const response = await fetch(`${first.apiUrl}/instances`, {
            method: "POST",
            headers: { Authorization: authorization, "Content-Type": "application/json" },
            body: JSON.stringify({
              your_mom: { key: "taxify" },
              configuration: {
                "api.key": "k",
                "event.notification.enabled": "true",
                "event.notification.callback.url": receiver!.url("/crash"),
              },
              name: `crash ${client}-${n}`,
            }),
          });
          if (response.status !== 200) throw new Error(`create answered ${response.status}: ${await response.text()}`);
          acknowledged.push(((await response.json()) as { id: number }).id);
        } catch (error) {
          if (!dead && !(error instanceof TypeError)) throw error;
        }
      }
    };
    const clients = Array.from({ length: 4 }, (_, client) => create(client));
    while (acknowledged.length < 40) await new Promise((resolve) => setTimeout(resolve, 10));
    first.child.kill("SIGKILL");
    await first.exited;
    dead = true;
    await Promise.all(clients);
    const attemptedBefore = new Map(receiver.received.map((r) => [r.instanceId, r.webhookId]));

    receiver.answer(() => 204);
    const second = await spawnServer(env);
    servers.push(second);
    const delivered = () => new Set(receiver!.received.filter((r) => r.type === "instance.created").map((r) => r.instanceId));
    await receiver.until(() => acknowledged.every((id) => delivered().has(id)));
    console.log(
      `events crash: ${acknowledged.length} creates acknowledged before kill -9, ${attemptedBefore.size} of their events attempted before it; all delivered after the restart`,
    );
    // A retry after the restart is the same event: the same webhook-id as before the crash.
    for (const [instanceId, webhookId] of attemptedBefore) {
      const after = receiver.received.filter((r) => r.instanceId === instanceId && r.type === "instance.created");
      expect(new Set(after.map((r) => r.webhookId))).toEqual(new Set([webhookId]));
    }
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  });
});
