// What the event tests of one store each set up: registered in the describe that calls it, before
// all a store (one of bothStores), a receiver of events on 127.0.0.1 and a server whose events go
// to it alone; after all, each stopped, the receiver last but for the store (its close fails naming
// any request the spec's webhooks do not describe).
import { afterAll, beforeAll } from "vitest";
import type { Config, StorageConfig } from "../../src/config.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { startTestServer, type TestServer } from "../harness.js";
import { toReceiver } from "../outbound/outbound-fakes.js";

type OpenStore = () => Promise<{ storage?: StorageConfig; stop: () => Promise<void> }>;

/** `ready` gets the server and the receiver once both run (and may add to them: accounts, answers). */
export function serverWithReceiver(
  open: OpenStore,
  config: Partial<Config>,
  ready: (server: TestServer, receiver: EventReceiver) => void | Promise<void>,
): void {
  let receiver: EventReceiver | undefined;
  let server: TestServer | undefined;
  let stopStore: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const store = await open();
    stopStore = store.stop;
    receiver = await startEventReceiver();
    server = await startTestServer({ config, outbound: toReceiver(receiver.port), ...(store.storage ? { storage: store.storage } : {}) });
    await ready(server, receiver);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await stopStore?.();
  });
}
