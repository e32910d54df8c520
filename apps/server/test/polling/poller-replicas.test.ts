// Two replicas on one PostgreSQL database polling the same SugarCRM instances: each poll is
// claimed by one replica at a time, and each page's events are committed with the checkpoint only
// while its claim holds, so every change reaches its instance's receiver once. The vendor is a
// fake SugarCRM over TLS on 127.0.0.1, reached through the real outbound guard.
import { randomBytes } from "node:crypto";
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import { fakeSugarcrm, fakeSugarcrmRecords, startFakeVendor, sugarDate, type FakeVendor } from "../../test-support/fake-vendor.js";
import { shortEventWaits } from "../events/event-test-settings.js";
import { guardedToFakes } from "../outbound/guarded-to-fakes.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { polledEvery, sugarcrmConfiguration, vendorEventsOf } from "../support/instance-configurations.js";
import { until } from "../support/until.js";
import { quickPolls } from "./poller-test-settings.js";

const sugar = fakeSugarcrm({ expiresIn: 3600 });
const records = fakeSugarcrmRecords({ accepts: (token) => sugar.issued.some((t) => t.accessToken === token), pageCap: 2 });

let cluster: PostgresCluster;
let vendor: FakeVendor;
let receiver: EventReceiver;
let a: TestServer;
let b: TestServer;

function replica(encryptionKey: Buffer, authorization?: string): Promise<TestServer> {
  return startTestServer({
    storage: { kind: "postgres", url: cluster.url },
    ...(authorization ? { authorization } : {}),
    config: {
      encryptionKey,
      provisioning: "live",
      events: shortEventWaits,
      poller: { ...quickPolls, tickMs: 50 },
    },
    outbound: guardedToFakes({ vendors: [vendor], names: ["sugar.test"], receiver }),
  });
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
  receiver = await startEventReceiver();
  vendor = await startFakeVendor({ names: ["sugar.test"], handle: (request) => records.answer(request) });
  vendor.on("POST /rest/v10/oauth2/token", (request) => sugar.answer(request));
  const key = randomBytes(32);
  a = await replica(key);
  b = await replica(key, a.authorization);
}, 120_000);
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await vendor?.close();
  await receiver?.close();
  cluster?.stop();
});

const instances = 4;
const changes = 7;

describe("two replicas polling the same instances", { timeout: 90_000 }, () => {
  it("send each change once", async () => {
    const created: { id: number; eventSigningSecret: string }[] = [];
    for (let i = 0; i < instances; i++) {
      const response = await (i % 2 === 0 ? a : b).api("/instances", {
        method: "POST",
        json: {
          your_mom: { key: "sugarcrmv2" },
          configuration: {
            ...sugarcrmConfiguration(vendor),
            ...vendorEventsOf(receiver.url(`/replicas/${i}`), ["Contacts"]),
            ...polledEvery(),
          },
          name: `polled ${i}`,
        },
      });
      expect(response.status).toBe(200);
      created.push(await body(response));
    }
    // Changes in two seconds, some sharing one, so that polls page through them while both replicas claim.
    for (let n = 0; n < changes; n++) {
      const at = Date.now();
      records.put("Contacts", { id: `c${n}`, date_entered: sugarDate(at), date_modified: sugarDate(at) });
      if (n === 3) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const sent = (i: number) =>
      receiver.received
        .filter((r) => r.path === `/replicas/${i}` && r.type?.startsWith("vendor."))
        .map(
          (r) => (new Webhook(created[i]!.eventSigningSecret).verify(r.body, r.headers) as { data: { recordId: string } }).data.recordId,
        );
    await until(() => (created.every((_, i) => sent(i).length >= changes) ? true : undefined), 60);
    // Two more rounds of polls of every instance find nothing new.
    const asked = vendor.requests.length;
    await until(() => (vendor.requests.length >= asked + 2 * instances ? true : undefined), 30);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let i = 0; i < instances; i++) {
      expect(sent(i).sort()).toEqual(Array.from({ length: changes }, (_, n) => `c${n}`).sort());
    }
  });
});
