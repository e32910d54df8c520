// A hostile Freshservice, as the poller meets it: a Link header naming another host, a listing that
// promises a next page for ever, tickets with ids no event can carry. A fake Freshservice over TLS
// on 127.0.0.1 reached as `acme.freshservice.com` through the real outbound guard (an injected
// resolver answers 127.0.0.1 for it alone), a receiver of events on 127.0.0.1; SQLite (the store
// plays no part). Nothing leaves this machine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { passPagesAtOnce } from "../../src/polling/page-position.js";
import { startEventReceiver, type EventReceiver } from "../../test-support/event-receiver.js";
import {
  fakeFreshserviceLists,
  freshserviceDate,
  startFakeVendor,
  type FakeAnswer,
  type FakeVendor,
  type RecordedRequest,
} from "../../test-support/fake-vendor.js";
import { shortEventWaits } from "../events/event-test-settings.js";
import { guardedToFakes } from "../outbound/guarded-to-fakes.js";
import { body, startTestServer, type TestServer } from "../harness.js";
import { freshserviceConfiguration, polledEvery, vendorEventsOf } from "../support/instance-configurations.js";
import { until } from "../support/until.js";
import { vendorEvents } from "../support/vendor-events.js";
import { quickPolls } from "./poller-test-settings.js";

const host = "acme.freshservice.com";
const maxPages = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a hostile Freshservice", { timeout: 60_000 }, () => {
  const lists = fakeFreshserviceLists();
  /** How the fake answers a listing, by its name (the rest: the fake's lists). */
  const scripted = new Map<string, (request: RecordedRequest, url: URL) => FakeAnswer>();
  let vendor: FakeVendor;
  let receiver: EventReceiver;
  let t: TestServer;

  beforeAll(async () => {
    receiver = await startEventReceiver();
    vendor = await startFakeVendor({
      names: [host, "evil.test"],
      handle: (request) => {
        const url = new URL(request.path, `https://${host}`);
        const script = scripted.get(url.pathname.replace(/^\/api\/v2\//, ""));
        return script ? script(request, url) : lists.answer(request);
      },
    });
    t = await startTestServer({
      config: {
        provisioning: "live",
        events: shortEventWaits,
        poller: { ...quickPolls, maxPages, responseMaxBytes: 1024 * 1024 },
      },
      outbound: guardedToFakes({ vendors: [vendor], names: [host, "evil.test"], portless: vendor, receiver }),
    });
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await vendor?.close();
    await receiver?.close();
  });

  async function polledInstance(path: string, list: string) {
    const created = await t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "freshservice" },
        configuration: { ...freshserviceConfiguration(), ...vendorEventsOf(receiver.url(path), [list]), ...polledEvery() },
        name: "hostile help desk",
      },
    });
    expect(created.status).toBe(200);
    return body<{ id: number; eventSigningSecret: string }>(created);
  }
  const askedFor = (list: string) => vendor.requests.filter((r) => r.path.startsWith(`/api/v2/${list}?`));
  const vendorRecordIds = (path: string, secret: string) => vendorEvents(receiver, path, secret).map((event) => event.data.recordId);

  it("never follows a Link header to another host or path: the next page is asked at its own host, by number", async () => {
    const changed = Date.now() + 2_000; // after the instance's creation
    scripted.set("problems", (_request, url): FakeAnswer => {
      const page = Number(url.searchParams.get("page") ?? 1);
      const last = page >= 4;
      return {
        status: 200,
        body: {
          problems: [
            { id: page, created_at: freshserviceDate(changed - 86_400_000), updated_at: freshserviceDate(Math.min(changed, Date.now())) },
          ],
        },
        headers: last ? {} : { link: `<https://evil.test:${vendor.port}/steal?page=${page + 1}>; rel="next"` },
      };
    });
    await polledInstance("/linked", "problems");
    await until(() => (askedFor("problems").length >= 4 ? true : undefined), 30);
    const asked = askedFor("problems");
    expect(asked.every((r) => r.host.startsWith(host))).toBe(true);
    expect(asked.slice(0, 4).map((r) => new URL(r.path, "https://x").searchParams.get("page") ?? "1")).toEqual(["1", "2", "3", "4"]);
    expect(vendor.requests.filter((r) => r.host.startsWith("evil.test") || r.path.startsWith("/steal"))).toEqual([]);
  });

  it("skips tickets whose id no event can carry (past 2^53, or a 2,000-character string), and sends the rest", async () => {
    const instance = await polledInstance("/huge-ids", "changes");
    await until(() => (askedFor("changes").length >= 1 ? true : undefined), 30);
    await sleep(1_100);
    const now = Date.now();
    const ticket = (id: unknown) => ({ id, created_at: freshserviceDate(now - 86_400_000), updated_at: freshserviceDate(now) });
    scripted.set("changes", () => ({ status: 200, body: { changes: [ticket(2 ** 60), ticket("x".repeat(2_000)), ticket(7)] } }));
    await until(() => (vendorRecordIds("/huge-ids", instance.eventSigningSecret).length > 0 ? true : undefined), 30);
    await sleep(500);
    expect(vendorRecordIds("/huge-ids", instance.eventSigningSecret)).toEqual(["7"]);
  });

  it(`asks a listing whose next page never ends ${passPagesAtOnce} pages without pause, then ${maxPages} a poll at its interval (fixed: without pause, for ever)`, async () => {
    const changed = Date.now() + 1_000;
    const askedAt: number[] = [];
    scripted.set("releases", (_request, url) => {
      askedAt.push(Date.now());
      const page = Number(url.searchParams.get("page") ?? 1);
      return {
        status: 200,
        body: {
          releases: [
            { id: page, created_at: freshserviceDate(changed - 86_400_000), updated_at: freshserviceDate(Math.min(changed, Date.now())) },
          ],
        },
        headers: { link: `</api/v2/releases?page=${page + 1}>; rel="next"` },
      };
    });
    await polledInstance("/endless", "releases");
    await until(() => (askedFor("releases").length > passPagesAtOnce ? true : undefined), 30);
    await sleep(500); // the poll under way ends
    const start = askedAt.length;
    await until(() => (askedAt.length >= start + 2 * maxPages ? true : undefined), 20);
    // From then on, one poll's pages at a time, each poll its interval (the floor) after the last.
    const later = askedAt.slice(start);
    let atOnce = 1;
    let mostAtOnce = 1;
    for (let n = 1; n < later.length; n++) {
      atOnce = later[n]! - later[n - 1]! < quickPolls.intervalFloorMs ? atOnce + 1 : 1;
      mostAtOnce = Math.max(mostAtOnce, atOnce);
    }
    expect(mostAtOnce).toBeLessThanOrEqual(maxPages);
    // The pass went on where it was, page after page: nothing skipped.
    const pages = askedFor("releases").map((r) => Number(new URL(r.path, "https://x").searchParams.get("page") ?? 1));
    expect(pages).toEqual(pages.map((_page, n) => n + 1));
  });
});
