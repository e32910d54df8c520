// The poll store's promises, the same on SQLite and PostgreSQL (polling/poll-store.ts): an instance
// is scheduled once per version; a due poll is claimed by one owner until its lease ends; a page
// is committed only while its claim holds and the instance is the version the poll read; the end of a poll sets the next due time, unless
// polling was turned off meanwhile; turning it on again starts its checkpoints anew.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultPoller } from "../../src/config.js";
import type { PollStore } from "../../src/polling/poll-store.js";
import { bothStores } from "../events/event-test-settings.js";
import { body, startTestServer, type TestServer } from "../harness.js";

describe.each(bothStores)("the poll store on %s", (_name, open) => {
  let stop: () => Promise<void>;
  let t: TestServer;
  let polls: PollStore;
  beforeAll(async () => {
    const store = await open();
    stop = store.stop;
    // The server's own poller stays idle: the test drives the store.
    t = await startTestServer({
      ...(store.storage ? { storage: store.storage } : {}),
      config: { poller: { ...defaultPoller, tickMs: 600_000 } },
    });
    polls = t.server.storage.polls;
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await stop?.();
  });

  it("schedules, claims, commits and ends polls as it promises", async () => {
    const created = await body<{ id: number }>(
      await t.api("/instances", {
        method: "POST",
        json: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "scheduled" },
      }),
    );
    const listed = (await polls.unscheduled(100)).find((row) => row.id === created.id);
    expect(listed).toMatchObject({ version: 1, connectorKey: "taxify", known: false });
    expect(Object.keys(JSON.parse(listed!.configuration) as object)).not.toContain("api.key"); // a secret: never read here

    const now = 1_000_000;
    const organizationId = listed!.organizationId;
    await polls.schedule({ organizationId, id: created.id, version: 1 }, true, 500_000, now);
    expect((await polls.unscheduled(100)).some((row) => row.id === created.id)).toBe(false);
    const claimed = await polls.claimDue("one", now, 10_000, 10);
    expect(claimed).toEqual([{ organizationId, id: created.id, version: 1, checkpoints: "{}", startedAt: 500_000, failures: 0 }]);
    expect(await polls.claimDue("two", now + 9_999, 10_000, 10)).toEqual([]);

    const checkpoints = { Contacts: { since: 600_000, seen: ["a"] } };
    const instance = { organizationId, id: created.id, version: 1 };
    expect(await polls.commitPage("two", instance, checkpoints, [])).toEqual({ held: false, enqueued: false });
    expect(await polls.commitPage("one", { ...instance, version: 0 }, checkpoints, [])).toEqual({ held: false, enqueued: false });
    expect(await polls.commitPage("one", instance, checkpoints, [])).toEqual({ held: true, enqueued: false });
    await polls.finish("one", created.id, now + 60_000, 2);
    expect(await polls.claimDue("two", now + 59_999, 10_000, 10)).toEqual([]);
    const again = await polls.claimDue("two", now + 60_000, 10_000, 10);
    expect(again).toEqual([
      { organizationId, id: created.id, version: 1, checkpoints: JSON.stringify(checkpoints), startedAt: 500_000, failures: 2 },
    ]);

    // Changed while claimed: its page is not committed. Turned off: the end of the poll leaves it off.
    expect((await t.api(`/instances/${created.id}`, { method: "PATCH", json: { name: "renamed" } })).status).toBe(200);
    expect(await polls.commitPage("two", instance, checkpoints, [])).toEqual({ held: false, enqueued: false });
    expect((await polls.unscheduled(100)).find((row) => row.id === created.id)).toMatchObject({ version: 2, known: true });
    await polls.schedule({ organizationId, id: created.id, version: 2 }, false, 0, now);
    await polls.finish("two", created.id, now + 70_000, 0);
    expect(await polls.claimDue("one", now + 1e9, 10_000, 10)).toEqual([]);

    // On again: due at once, its checkpoints started anew from the change that turned it on.
    expect((await t.api(`/instances/${created.id}`, { method: "PATCH", json: { name: "on again" } })).status).toBe(200);
    await polls.schedule({ organizationId, id: created.id, version: 3 }, true, 900_000, now + 100_000);
    const fresh = await polls.claimDue("one", now + 100_000, 10_000, 10);
    expect(fresh).toEqual([{ organizationId, id: created.id, version: 3, checkpoints: "{}", startedAt: 900_000, failures: 0 }]);
    expect(await polls.releaseAll("one")).toBe(1);
    await polls.forget(created.id);
    expect(await polls.claimDue("one", now + 1e9, 10_000, 10)).toEqual([]);
  });

  it("lists for scheduling only the instances written since, and forgets a deleted one's poll", async () => {
    const create = async (name: string) =>
      body<{ id: number }>(
        await t.api("/instances", { method: "POST", json: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name } }),
      );
    const [a, b] = [await create("a"), await create("b")];
    for (const row of await polls.unscheduled(1000)) await polls.schedule(row, true, 0, 1_000);
    expect(await polls.unscheduled(1000)).toEqual([]);

    expect((await t.api(`/instances/${a.id}`, { method: "PATCH", json: { name: "a2" } })).status).toBe(200);
    const listed = await polls.unscheduled(1000);
    expect(listed.map((row) => [row.id, row.version])).toEqual([[a.id, 2]]);
    // Scheduling the version before leaves the newer one's mark.
    await polls.schedule({ ...listed[0]!, version: 1 }, true, 0, 1_000);
    expect((await polls.unscheduled(1000)).map((row) => row.id)).toEqual([a.id]);
    await polls.schedule(listed[0]!, true, 0, 1_000);
    expect(await polls.unscheduled(1000)).toEqual([]);

    expect((await t.api(`/instances/${b.id}`, { method: "DELETE" })).status).toBe(204);
    const claimed = await polls.claimDue("one", 2_000, 10_000, 100);
    expect(claimed.map((row) => row.id)).toEqual([a.id]);
  });

  it("claims of an organization its share less what the claimer has of it under way, none of one skipped", async () => {
    const ids: number[] = [];
    for (const name of ["first", "second", "third", "fourth"])
      ids.push(
        (
          await body<{ id: number }>(
            await t.api("/instances", { method: "POST", json: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name } }),
          )
        ).id,
      );
    const mine = (await polls.unscheduled(1000)).filter((row) => ids.includes(row.id));
    const organizationId = mine[0]!.organizationId;
    // Due before every other test's polls, in the order created.
    for (const row of mine) await polls.schedule(row, true, 0, ids.indexOf(row.id));
    try {
      const share = { perOrganization: 3, skip: [] };
      expect(await polls.claimDue("skip", 500, 10_000, 10, { ...share, skip: [organizationId] })).toEqual([]);
      const claimed = await polls.claimDue("busy", 500, 10_000, 10, { ...share, underWay: [[organizationId, 2]] });
      expect(claimed.map((row) => row.id)).toEqual([ids[0]]);
      expect((await polls.claimDue("idle", 500, 10_000, 10, share)).map((row) => row.id)).toEqual(ids.slice(1));
    } finally {
      for (const id of ids) await polls.forget(id);
    }
  });
});
