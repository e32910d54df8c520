// The whole instance lifecycle against the real server: create, read, list (filters and pages),
// update (PATCH merge, PUT replace, If-Match), rotate the token, delete; and idempotent creates.
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { candidatesPerPage } from "../../src/instances/store.js";
import { copyInstancesSql } from "../../test-support/scale-shapes.js";
import { body, startTestServer, type TestServer } from "../harness.js";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

type Instance = {
  id: number;
  name: string;
  tags: string[];
  token?: string;
  disabled: boolean;
  configuration: Record<string, string | null>;
  eventsEnabled: boolean;
};

function freshservice(overrides: Record<string, unknown> = {}) {
  return {
    your_mom: { key: "freshservice" },
    configuration: { username: "agent@example.com", password: "first-Passw0rd", subdomain: "acme" },
    tags: ["helpdesk"],
    name: "Help desk",
    ...overrides,
  };
}

async function create(json: unknown, headers: Record<string, string> = {}): Promise<Instance> {
  const response = await t.api("/instances", { method: "POST", json, headers });
  expect(response.status, JSON.stringify(await response.clone().json())).toBe(200);
  return body<Instance>(response);
}

describe("create and read", () => {
  it("returns the token once, and an ETag", async () => {
    const response = await t.api("/instances", { method: "POST", json: freshservice() });
    expect(response.status).toBe(200);
    expect(response.headers.get("ETag")).toBe('"1"');
    const created = await body<Instance>(response);
    expect(created.token).toBeTypeOf("string");

    const read = await t.api(`/instances/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get("ETag")).toBe('"1"');
    const instance = await body<Instance>(read);
    expect(instance).not.toHaveProperty("token");
    expect(instance.configuration.password).toBe("********");
    expect(instance.configuration["base.url"]).toBe("https://{subdomain}.freshservice.com");
  });

  it("turns events on when event.notification.enabled is true", async () => {
    const created = await create(
      freshservice({
        configuration: {
          username: "u",
          password: "p",
          subdomain: "acme",
          "event.notification.enabled": "true",
          "event.notification.callback.url": "https://example.com/events",
        },
      }),
    );
    expect(created.eventsEnabled).toBe(true);
    expect(created.configuration["event.notification.callback.url"]).toBe("https://example.com/events");
  });

  it("fills an optional entry's default from the spec (SugarCRM's oauth.callback.url)", async () => {
    const created = await create({
      your_mom: { key: "sugarcrmv2" },
      configuration: { "oauth.api.key": "k", "oauth.api.secret": "s", "site.url": "acme.sugarondemand.com", username: "u", password: "p" },
      name: "CRM",
    });
    expect(created.configuration["oauth.callback.url"]).toBe("https://console.cloud-your_moms.com/your_moms/jsp/home.jsp");
    expect(created.configuration["oauth.user.token"]).toBe("********");
    expect(created.tags).toEqual([]);
  });
});

describe("list", () => {
  it("filters by tags (all of them) and by connector, oldest first", async () => {
    const account = await t.newAccount("list filters");
    const as = { Authorization: account.authorization };
    const post = async (json: unknown) => body<Instance>(await t.api("/instances", { method: "POST", json, headers: as }));
    const a = await post(freshservice({ tags: ["red", "blue"], name: "a" }));
    const b = await post(freshservice({ tags: ["red"], name: "b" }));
    const c = await post({ your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, tags: ["red", "blue"], name: "c" });

    const ids = async (query: string) => (await body<Instance[]>(await t.api(`/instances${query}`, { headers: as }))).map((i) => i.id);
    expect(await ids("")).toEqual([a.id, b.id, c.id]);
    expect(await ids("?tags=red")).toEqual([a.id, b.id, c.id]);
    expect(await ids("?tags=red&tags=blue")).toEqual([a.id, c.id]);
    expect(await ids("?your_mom=freshservice&tags=blue")).toEqual([a.id]);
    expect(await ids("?tags=green")).toEqual([]);
  });

  it("lists an instance by the tags a PATCH or a PUT gave it, no longer by those they took away, and not once deleted", async () => {
    const account = await t.newAccount("list after changes");
    const as = { Authorization: account.authorization };
    const ids = async (query: string) => (await body<Instance[]>(await t.api(`/instances${query}`, { headers: as }))).map((i) => i.id);
    const created = await body<Instance>(
      await t.api("/instances", { method: "POST", json: freshservice({ tags: ["first", "kept"] }), headers: as }),
    );
    expect(await ids("?tags=first&tags=kept")).toEqual([created.id]);

    const patched = await t.api(`/instances/${created.id}`, { method: "PATCH", json: { tags: ["kept", "patched"] }, headers: as });
    expect(patched.status).toBe(200);
    expect(await ids("?tags=first")).toEqual([]);
    expect(await ids("?tags=kept&tags=patched")).toEqual([created.id]);

    const put = await t.api(`/instances/${created.id}`, { method: "PUT", json: freshservice({ tags: ["put"] }), headers: as });
    expect(put.status).toBe(200);
    expect(await ids("?tags=kept")).toEqual([]);
    expect(await ids("?tags=patched")).toEqual([]);
    expect(await ids("?tags=put")).toEqual([created.id]);

    expect((await t.api(`/instances/${created.id}`, { method: "DELETE", headers: as })).status).toBe(204);
    expect(await ids("?tags=put")).toEqual([]);
  });

  it("rejects a filter on an unknown connector, listing the known ones", async () => {
    const response = await t.api("/instances?your_mom=freshdesk");
    expect(response.status).toBe(400);
    expect(await body(response)).toMatchObject({ knownKeys: ["freshservice", "infobip", "quickbooksonprem", "sugarcrmv2", "taxify"] });
  });

  it("pages with nextPage, the token header and a Link, neither skipping nor repeating while instances come and go", async () => {
    const account = await t.newAccount("paging");
    const as = { Authorization: account.authorization };
    const post = async (name: string) =>
      body<Instance>(await t.api("/instances", { method: "POST", json: freshservice({ name, tags: ["page"] }), headers: as }));
    const made: Instance[] = [];
    for (let i = 0; i < 7; i++) made.push(await post(`n${i}`));

    const seen: number[] = [];
    let query = "/instances?tags=page&pageSize=3";
    let pages = 0;
    for (;;) {
      const response = await t.api(query, { headers: as });
      expect(response.status).toBe(200);
      seen.push(...(await body<Instance[]>(response)).map((i) => i.id));
      pages++;
      const token = response.headers.get("your_moms-next-page-token");
      const link = response.headers.get("Link") ?? "";
      if (!token) {
        expect(link).toBe("");
        break;
      }
      expect(link).toBe(`</your_moms/api-v2/instances?tags=page&pageSize=3&nextPage=${token}>; rel="next"`);
      if (pages === 1) {
        // Between pages: delete one already seen and one not yet seen, and add one.
        await t.api(`/instances/${made[0]!.id}`, { method: "DELETE", headers: as });
        await t.api(`/instances/${made[5]!.id}`, { method: "DELETE", headers: as });
        made.push(await post("late"));
      }
      query = link.slice(1, link.indexOf(">")).replace("/your_moms/api-v2", "");
    }
    const expected = [made[0]!, made[1]!, made[2]!, made[3]!, made[4]!, made[6]!, made[7]!].map((i) => i.id);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("gives a page of fewer instances than asked, even none, with a next page, where the candidates a page examines run out", async () => {
    const account = await t.newAccount("sparse");
    const as = { Authorization: account.authorization };
    const template = body<Instance>(
      await t.api("/instances", { method: "POST", json: freshservice({ tags: ["bench", "group-0"] }), headers: as }),
    );
    // 1.5 times the bound of copies tagged "group-3" and as many "group-4" (one of ten group tags
    // each, as the scale suite grows an organization), written into the server's database as it runs.
    const db = new Database(path.join(t.dataDir, "instances.sqlite"));
    try {
      const afterId = db.prepare("SELECT max(id) FROM instances").pluck().get() as number;
      for (const sql of copyInstancesSql("sqlite", (await template).id, candidatesPerPage * 15, afterId)) db.exec(sql);
    } finally {
      db.close();
    }
    const both = body<Instance>(
      await t.api("/instances", { method: "POST", json: freshservice({ name: "both", tags: ["group-3", "group-4"] }), headers: as }),
    );
    const pages: number[][] = [];
    for (let query: string | undefined = "/instances?tags=group-3&tags=group-4&pageSize=5"; query;) {
      const response = await t.api(query, { headers: as });
      expect(response.status).toBe(200);
      pages.push((await body<Instance[]>(response)).map((instance) => instance.id));
      const token = response.headers.get("your_moms-next-page-token");
      const link = response.headers.get("Link");
      expect(link === null).toBe(token === null);
      query = link?.slice(1, link.indexOf(">")).replace("/your_moms/api-v2", "");
      if (pages.length > 10) throw new Error("the pages never end");
    }
    // The first page examined the bound's worth of one tag's rows and found none; the one instance
    // with both tags, created after every copy, comes on a later page.
    expect(pages[0]).toEqual([]);
    expect(pages.flat()).toEqual([(await both).id]);

    // A tag of a connector none of the organization's instances has: empty pages, each with a next one, to the end.
    const empty: number[][] = [];
    for (let query: string | undefined = "/instances?tags=group-3&your_mom=taxify&pageSize=5"; query;) {
      const response = await t.api(query, { headers: as });
      empty.push((await body<Instance[]>(response)).map((instance) => instance.id));
      const link = response.headers.get("Link");
      query = link?.slice(1, link.indexOf(">")).replace("/your_moms/api-v2", "");
      if (empty.length > 10) throw new Error("the pages never end");
    }
    expect(empty.length).toBeGreaterThan(1);
    expect(empty.flat()).toEqual([]);
  });

  it("rejects a cursor that was not issued, or was issued for other filters", async () => {
    expect((await t.api("/instances?nextPage=garbage")).status).toBe(400);
    const account = await t.newAccount("cursor");
    const as = { Authorization: account.authorization };
    for (let i = 0; i < 2; i++) await t.api("/instances", { method: "POST", json: freshservice(), headers: as });
    const first = await t.api("/instances?pageSize=1", { headers: as });
    const token = first.headers.get("your_moms-next-page-token")!;
    const other = await t.api(`/instances?pageSize=1&tags=x&nextPage=${token}`, { headers: as });
    expect(other.status).toBe(400);
    expect((await body(other)).message).toMatch(/other filters/);
  });
});

/** A Freshservice configuration with notifications on (a callback URL is required with them). */
const withNotifications = {
  username: "u",
  password: "p",
  subdomain: "s",
  "event.notification.enabled": "true",
  "event.notification.callback.url": "https://example.com/events",
};

describe("update", () => {
  it("PATCH merges entries, replaces a secret only when sent, and bumps the ETag", async () => {
    const created = await create(freshservice());
    const response = await t.api(`/instances/${created.id}`, {
      method: "PATCH",
      json: {
        name: "Renamed",
        tags: ["x"],
        disabled: true,
        configuration: { "event.notification.callback.url": "https://example.com/hook" },
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("ETag")).toBe('"2"');
    const updated = await body<Instance>(response);
    expect(updated).toMatchObject({ name: "Renamed", tags: ["x"], disabled: true });
    expect(updated.configuration).toMatchObject({
      "event.notification.callback.url": "https://example.com/hook",
      username: "********", // it may hold the API key: a secret
      password: "********",
    });

    // The secret kept: removing a required entry is refused, the old password still counts as present.
    const removeRequired = await t.api(`/instances/${created.id}`, { method: "PATCH", json: { configuration: { password: null } } });
    expect(removeRequired.status).toBe(400);
    expect(await body(removeRequired)).toMatchObject({ missingEntries: ["password"] });
  });

  it("PATCH removes an optional entry with null and refuses an unknown one", async () => {
    const created = await create(freshservice({ configuration: withNotifications }));
    const removed = await body<Instance>(
      await t.api(`/instances/${created.id}`, { method: "PATCH", json: { configuration: { "event.notification.enabled": null } } }),
    );
    expect(removed.configuration["event.notification.enabled"]).toBe("false");
    expect(removed.eventsEnabled).toBe(false);
    const unknown = await t.api(`/instances/${created.id}`, { method: "PATCH", json: { configuration: { usernme: "x" } } });
    expect(unknown.status).toBe(400);
    expect(await body(unknown)).toMatchObject({ unknownEntries: [{ entry: "usernme", suggestion: "username" }] });
  });

  it("If-Match with a stale ETag gets 412 and writes nothing; the current one wins", async () => {
    const created = await create(freshservice());
    const stale = await t.api(`/instances/${created.id}`, { method: "PATCH", json: { name: "a" }, headers: { "If-Match": '"1"' } });
    expect(stale.status).toBe(200);
    const again = await t.api(`/instances/${created.id}`, { method: "PATCH", json: { name: "b" }, headers: { "If-Match": '"1"' } });
    expect(again.status).toBe(412);
    expect(await body(again)).toMatchObject({ status: 412, type: "urn:instances-api:problem:precondition-failed" });
    expect((await body<Instance>(await t.api(`/instances/${created.id}`))).name).toBe("a");
    const put = await t.api(`/instances/${created.id}`, {
      method: "PUT",
      json: freshservice({ name: "c" }),
      headers: { "If-Match": '"1"' },
    });
    expect(put.status).toBe(412);
    const del = await t.api(`/instances/${created.id}`, { method: "DELETE", headers: { "If-Match": '"1"' } });
    expect(del.status).toBe(412);
  });

  it("PUT replaces name, tags and configuration but not the connector", async () => {
    const created = await create(freshservice({ configuration: withNotifications }));
    const response = await t.api(`/instances/${created.id}`, { method: "PUT", json: freshservice({ name: "Replaced", tags: undefined }) });
    expect(response.status).toBe(200);
    const replaced = await body<Instance>(response);
    expect(replaced).toMatchObject({ name: "Replaced", tags: [], eventsEnabled: false });
    expect(replaced.configuration["event.notification.enabled"]).toBe("false");

    const other = await t.api(`/instances/${created.id}`, {
      method: "PUT",
      json: { your_mom: { key: "taxify" }, configuration: { "api.key": "k" }, name: "x" },
    });
    expect(other.status).toBe(400);
    expect(await body(other)).toMatchObject({ type: "urn:instances-api:problem:connector-mismatch" });
    const missing = await t.api(`/instances/${created.id}`, { method: "PUT", json: freshservice({ configuration: { username: "u" } }) });
    expect(missing.status).toBe(400);
    expect((await body(missing)).message).toBe("freshservice is missing required configuration entries: password, subdomain");
  });
});

describe("token and delete", () => {
  it("rotates the token: a new one, shown once", async () => {
    const created = await create(freshservice());
    const response = await t.api(`/instances/${created.id}/token`, { method: "POST" });
    expect(response.status).toBe(200);
    const rotated = await body<Instance>(response);
    expect(rotated.token).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(rotated.token).not.toBe(created.token);
    expect(await body(await t.api(`/instances/${created.id}`))).not.toHaveProperty("token");
  });

  it("deletes, then answers 404", async () => {
    const created = await create(freshservice());
    const deleted = await t.api(`/instances/${created.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    expect((await t.api(`/instances/${created.id}`)).status).toBe(404);
    expect((await t.api(`/instances/${created.id}`, { method: "DELETE" })).status).toBe(404);
  });
});

describe("Idempotency-Key", () => {
  it("returns the first response for the same key and body, and creates nothing more", async () => {
    const account = await t.newAccount("idempotency");
    const headers = { Authorization: account.authorization, "Idempotency-Key": "key-1" };
    const first = await t.api("/instances", { method: "POST", json: freshservice(), headers });
    const second = await t.api("/instances", { method: "POST", json: freshservice(), headers });
    expect(second.status).toBe(200);
    expect(await body(second)).toEqual(await body(first));
    expect(second.headers.get("ETag")).toBe(first.headers.get("ETag"));
    const list = await body<Instance[]>(await t.api("/instances", { headers: { Authorization: account.authorization } }));
    expect(list).toHaveLength(1);
  });

  it("answers 422 for the same key with another body", async () => {
    const headers = { "Idempotency-Key": "key-2" };
    expect((await t.api("/instances", { method: "POST", json: freshservice(), headers })).status).toBe(200);
    const reused = await t.api("/instances", { method: "POST", json: freshservice({ name: "other" }), headers });
    expect(reused.status).toBe(422);
    expect(await body(reused)).toMatchObject({ status: 422, type: "urn:instances-api:problem:idempotency-key-reused" });
  });

  it("keeps keys per organization", async () => {
    const other = await t.newAccount("idempotency other");
    const first = await body<Instance>(
      await t.api("/instances", { method: "POST", json: freshservice(), headers: { "Idempotency-Key": "shared" } }),
    );
    const second = await body<Instance>(
      await t.api("/instances", {
        method: "POST",
        json: freshservice(),
        headers: { "Idempotency-Key": "shared", Authorization: other.authorization },
      }),
    );
    expect(second.id).not.toBe(first.id);
  });
});
