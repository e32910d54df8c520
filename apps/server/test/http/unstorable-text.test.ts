// Text that a store cannot keep exactly as sent (an unpaired surrogate, NUL, bytes that are not
// UTF-8) is refused with a 400 naming where it is, before anything is written, the same way on
// SQLite and on PostgreSQL; and what is accepted reads back exactly, lengths included.
import { startPostgresCluster, type PostgresCluster } from "@instances-api/postgres-cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StorageConfig } from "../../src/config.js";
import { body, startTestServer, type TestServer } from "../harness.js";

const valid = {
  your_mom: { key: "freshservice" },
  configuration: { username: "u", password: "p", subdomain: "acme" },
  tags: ["t"],
  name: "n",
};
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
/** A body whose `name` is these raw bytes, whatever they are: JSON.stringify could not send them. */
const nameBytes = (...bytes: number[]) =>
  Buffer.concat([
    Buffer.from('{"your_mom":{"key":"taxify"},"configuration":{"api.key":"k"},"name":"a'),
    Buffer.from(bytes),
    Buffer.from('b"}'),
  ]);

// [what, method, path (after /instances), body, where the problem must point]
const bodyCases: [string, string, string, Buffer, string][] = [
  ["an unpaired high surrogate in name", "POST", "", json({ ...valid, name: "a\ud800b" }), "/body/name"],
  ["an unpaired low surrogate at the end of a tag", "POST", "", json({ ...valid, tags: ["ok", "x\udfff"] }), "/body/tags/1"],
  ["NUL in name", "POST", "", json({ ...valid, name: "a\u0000b" }), "/body/name"],
  [
    "NUL in a configuration value",
    "POST",
    "",
    json({ ...valid, configuration: { ...valid.configuration, username: "u\u0000" } }),
    "/body/configuration/username",
  ],
  [
    "NUL in a secret configuration value",
    "POST",
    "",
    json({ ...valid, configuration: { ...valid.configuration, password: "\u0000" } }),
    "/body/configuration/password",
  ],
  [
    "an unpaired surrogate in a configuration entry's name",
    "POST",
    "",
    json({ ...valid, configuration: { ...valid.configuration, "x\ud800": "v" } }),
    "/body/configuration",
  ],
  ["a byte that is never UTF-8 (0xFF) in name", "POST", "", nameBytes(0xff), "/body/name"],
  ["a surrogate encoded as UTF-8 (ED A0 80) in name", "POST", "", nameBytes(0xed, 0xa0, 0x80), "/body/name"],
  ["a truncated sequence (E2 82) in name", "POST", "", nameBytes(0xe2, 0x82), "/body/name"],
  ["an overlong encoding of NUL (C0 80) in name", "POST", "", nameBytes(0xc0, 0x80), "/body/name"],
  ["an unpaired surrogate in a replacement's name", "PUT", "/{id}", json({ ...valid, name: "\ud800" }), "/body/name"],
  ["an unpaired surrogate in a PATCH's name", "PATCH", "/{id}", json({ name: "\udbff" }), "/body/name"],
  ["NUL in a PATCH's tag", "PATCH", "/{id}", json({ tags: ["a\u0000"] }), "/body/tags/0"],
  [
    "NUL in a PATCH's configuration value",
    "PATCH",
    "/{id}",
    json({ configuration: { username: "\u0000" } }),
    "/body/configuration/username",
  ],
  [
    "invalid UTF-8 in a PATCH's name",
    "PATCH",
    "/{id}",
    Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff]), Buffer.from('"}')]),
    "/body/name",
  ],
];

// [what, the query or path after /instances (after the method, if not GET), where the problem must point]
const urlCases: [string, string, string][] = [
  ["NUL in a tags filter", "?tags=%00", "/query/tags"],
  ["a surrogate encoded as UTF-8 in a tags filter", "?tags=ok&tags=%ED%A0%80", "/query/tags"],
  ["a byte that is never UTF-8 in a tags filter", "?tags=%FF", "/query/tags"],
  ["NUL in the connector filter", "?your_mom=taxify%00", "/query/your_mom"],
  ["invalid UTF-8 in a cursor", "?nextPage=%C0%80", "/query/nextPage"],
  ["NUL in the id", "/1%00", "/path/id"],
  ["NUL in the id of a token rotation", "POST /%00/token", "/path/id"],
  // The validator cannot decode the path to match a route: the problem names the path only.
  ["invalid UTF-8 in the id", "/%FF", "/path"],
];

function storesToTest(): [string, () => Promise<{ storage?: StorageConfig; stop: () => Promise<void> }>][] {
  return [
    ["SQLite", () => Promise.resolve({ stop: () => Promise.resolve() })],
    [
      "PostgreSQL",
      async () => {
        const cluster: PostgresCluster = await startPostgresCluster();
        return { storage: { kind: "postgres", url: cluster.url }, stop: () => Promise.resolve(cluster.stop()) };
      },
    ],
  ];
}

describe.each(storesToTest())("on %s", (_store, open) => {
  let t: TestServer;
  let stopStore: () => Promise<void>;
  let existing: number;
  let idsBefore: number[];

  beforeAll(async () => {
    const { storage, stop } = await open();
    stopStore = stop;
    t = await startTestServer(storage ? { storage } : {});
    const created = await t.api("/instances", { method: "POST", json: valid });
    expect(created.status).toBe(200);
    existing = (await body<{ id: number }>(created)).id;
    idsBefore = await listedIds();
  }, 60_000);
  afterAll(async () => {
    await t.stop();
    await stopStore();
  });

  async function listedIds(): Promise<number[]> {
    const ids: number[] = [];
    let next = "";
    do {
      const response = await t.api(`/instances?pageSize=1${next ? `&nextPage=${encodeURIComponent(next)}` : ""}`);
      expect(response.status).toBe(200);
      ids.push(...(await body<{ id: number }[]>(response)).map((i) => i.id));
      next = response.headers.get("your_moms-next-page-token") ?? "";
    } while (next);
    return ids;
  }

  async function expectRefused(response: Response, where: string) {
    const problem = await body<{ type: string; errors: { path: string; message: string }[] }>(response);
    expect({ status: response.status, type: problem.type, path: problem.errors?.[0]?.path }).toEqual({
      status: 400,
      type: "urn:instances-api:problem:invalid-request",
      path: where,
    });
  }

  it.each(bodyCases)("refuses %s, writes nothing, and says so again on a retry", async (_what, method, path, raw, where) => {
    const before = await body<{ name: string; version?: number }>(await t.api(`/instances/${existing}`));
    const send = () =>
      t.api(`/instances${path.replace("{id}", String(existing))}`, {
        method,
        body: raw,
        headers: { "Content-Type": "application/json", ...(method === "POST" ? { "Idempotency-Key": `text-${_what}` } : {}) },
      });
    await expectRefused(await send(), where);
    await expectRefused(await send(), where);
    expect(await listedIds()).toEqual(idsBefore);
    expect(await body(await t.api(`/instances/${existing}`))).toEqual(before);
  });

  it.each(urlCases)("refuses %s", async (_what, request, where) => {
    const [method, rest] = request.startsWith("POST ") ? ["POST", request.slice(5)] : ["GET", request];
    await expectRefused(await t.api(`/instances${rest}`, { method }), where);
  });

  it("refuses a body in another charset than UTF-8 with a 415, as JSON must be UTF-8", async () => {
    const utf16 = Buffer.from(JSON.stringify(valid), "utf16le");
    const response = await t.api("/instances", {
      method: "POST",
      body: utf16,
      headers: { "Content-Type": "application/json; charset=utf-16le" },
    });
    expect(response.status).toBe(415);
    expect(await body(response)).toMatchObject({
      type: "urn:instances-api:problem:unsupported-media-type",
      message: "The body must be JSON in UTF-8 (Content-Type: application/json)",
    });
    expect(await listedIds()).toEqual(idsBefore);
  });

  it("keeps a name of 255 astral characters as sent, and refuses 256", async () => {
    const name = "\u{1F4A5}".repeat(255); // 510 UTF-16 units, 1020 UTF-8 bytes: lengths count characters
    const created = await t.api("/instances", { method: "POST", json: { ...valid, name, tags: ["\u{1F600}".repeat(128)] } });
    expect(created.status).toBe(200);
    const { id } = await body<{ id: number }>(created);
    const read = await body<{ name: string; tags: string[] }>(await t.api(`/instances/${id}`));
    expect(read.name).toBe(name);
    expect(read.tags).toEqual(["\u{1F600}".repeat(128)]);
    expect(await listedIds()).toContain(id);
    idsBefore = await listedIds();

    const tooLong = await t.api("/instances", { method: "POST", json: { ...valid, name: `${name}x` } });
    await expectRefused(tooLong, "/body/name");
  });

  it("keeps text that is merely unusual as sent: U+FFFD, control characters, right-to-left marks", async () => {
    const name = "\ufffd\u0001\u001f\u007f\u202e\u{10FFFF}\uFEFF";
    // In the name and in a configuration entry that is shown back (Infobip's sender; a secret is masked).
    const created = await t.api("/instances", {
      method: "POST",
      json: {
        your_mom: { key: "infobip" },
        configuration: {
          "messaging.sms.infobip.sender": name,
          "messaging.sms.infobip.username": "u",
          "messaging.sms.infobip.password": "p",
          "messaging.sms.infobip.callback.url": "https://example.com/sms",
        },
        name,
      },
    });
    expect(created.status).toBe(200);
    const { id } = await body<{ id: number }>(created);
    const read = await body<{ name: string; configuration: Record<string, string> }>(await t.api(`/instances/${id}`));
    expect([read.name, read.configuration["messaging.sms.infobip.sender"]]).toEqual([name, name]);
    const filtered = await t.api(`/instances?tags=${encodeURIComponent("\ufffd\u{1F600}")}`);
    expect(filtered.status).toBe(200);
    idsBefore = await listedIds();
  });
});
