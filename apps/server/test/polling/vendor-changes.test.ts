// What a page of changed records comes to (polling/vendor-changes.ts), table-driven: which records
// are sent, created or updated, and where the checkpoint moves.
import { describe, expect, it } from "vitest";
import { maxSeenPerSecond, pageChanges, sinceParameter, type Checkpoint } from "../../src/polling/vendor-changes.js";

const fields = { id: "id", created: "date_entered", modified: "date_modified" };
const at = (iso: string) => Date.parse(iso);
const record = (id: string, entered: string, modified: string) => ({ id, date_entered: entered, date_modified: modified });
const start: Checkpoint = { since: at("2026-12-06T09:00:00Z"), seen: [] };
/** When the page was fetched. */
const fetchedAt = at("2026-12-06T10:00:00Z");
const crowdedSecond = Array.from({ length: maxSeenPerSecond + 1 }, (_, n) =>
  record(`m${n}`, "2026-12-01T00:00:00Z", "2026-12-06T09:00:03Z"),
);

describe("pageChanges", () => {
  it.each<[string, { records: unknown[]; checkpoint: Checkpoint; sent: [string, string][]; next: Checkpoint }]>([
    [
      "sends a record created after the checkpoint as created, one changed after it as updated",
      {
        records: [
          record("a", "2026-12-01T00:00:00Z", "2026-12-06T05:00:05-04:00"),
          record("b", "2026-12-06T09:00:07Z", "2026-12-06T09:00:07Z"),
        ],
        checkpoint: start,
        sent: [
          ["vendor.record.updated", "a"],
          ["vendor.record.created", "b"],
        ],
        next: { since: at("2026-12-06T09:00:07Z"), seen: ["b"] },
      },
    ],
    [
      "skips what was sent at the checkpoint's second, sends the rest of that second",
      {
        records: [
          record("a", "2026-12-01T00:00:00Z", "2026-12-06T09:00:00Z"),
          record("c", "2026-12-01T00:00:00Z", "2026-12-06T09:00:00.500Z"),
        ],
        checkpoint: { since: start.since, seen: ["a"] },
        sent: [["vendor.record.updated", "c"]],
        next: { since: start.since, seen: ["a", "c"] },
      },
    ],
    [
      "skips a record whose id no event could carry: past 1024 characters, empty, or a number JSON rounds",
      {
        records: [
          { id: "i".repeat(1025), date_modified: "2026-12-06T09:00:09Z" },
          { id: "", date_modified: "2026-12-06T09:00:09Z" },
          JSON.parse('{"id": 12345678901234567891, "date_modified": "2026-12-06T09:00:09Z"}') as unknown,
          { id: 42, date_modified: "2026-12-06T09:00:09Z" },
        ],
        checkpoint: start,
        sent: [["vendor.record.updated", "42"]],
        next: { since: at("2026-12-06T09:00:09Z"), seen: ["42"] },
      },
    ],
    [
      "never sends a record changed before the checkpoint, nor one without an id or a date",
      {
        records: [
          record("old", "2026-01-01T00:00:00Z", "2026-12-06T08:59:59Z"),
          { date_modified: "2026-12-06T09:00:09Z" },
          { id: "x" },
          null,
          "text",
        ],
        checkpoint: start,
        sent: [],
        next: start,
      },
    ],
    [
      "leaves a record dated after the page was fetched for a later poll: a year-9999 date does not move the checkpoint (a fixed bug)",
      {
        records: [
          record("a", "2026-12-01T00:00:00Z", "2026-12-06T09:00:05Z"),
          record("soon", "2026-12-01T00:00:00Z", "2026-12-06T10:00:01Z"),
          record("far", "2026-12-01T00:00:00Z", "9999-12-31T23:59:59Z"),
        ],
        checkpoint: start,
        sent: [["vendor.record.updated", "a"]],
        next: { since: at("2026-12-06T09:00:05Z"), seen: ["a"] },
      },
    ],
    [
      "sends an id once per page however often the vendor repeats it (a fixed bug)",
      {
        records: [
          record("a", "2026-12-01T00:00:00Z", "2026-12-06T09:00:05Z"),
          record("a", "2026-12-01T00:00:00Z", "2026-12-06T09:00:05Z"),
          record("a", "2026-12-01T00:00:00Z", "2026-12-06T09:00:06Z"),
        ],
        checkpoint: start,
        sent: [["vendor.record.updated", "a"]],
        next: { since: at("2026-12-06T09:00:05Z"), seen: ["a"] },
      },
    ],
    [
      "reads only a record's own fields: an id or a date it inherits, or one under __proto__, is none",
      {
        records: [
          Object.create({ id: "inherited", date_modified: "2026-12-06T09:00:05Z" }) as unknown,
          JSON.parse('{"__proto__": {"id": "hidden", "date_modified": "2026-12-06T09:00:05Z"}}') as unknown,
          JSON.parse('{"id": "own", "date_modified": "2026-12-06T09:00:05Z", "constructor": {"prototype": {"polluted": true}}}') as unknown,
        ],
        checkpoint: start,
        sent: [["vendor.record.updated", "own"]],
        next: { since: at("2026-12-06T09:00:05Z"), seen: ["own"] },
      },
    ],
    [
      `moves past a second with more than ${maxSeenPerSecond} changes, rather than keep their ids without end (a fixed bug)`,
      {
        records: crowdedSecond,
        checkpoint: start,
        sent: crowdedSecond.map((r) => ["vendor.record.updated", r.id] as [string, string]),
        next: { since: at("2026-12-06T09:00:04Z"), seen: [] },
      },
    ],
  ])("%s", (_name, { records, checkpoint, sent, next }) => {
    const page = pageChanges(records, checkpoint, fields, checkpoint.since, fetchedAt);
    expect(page.changes.map((change) => [change.type, change.recordId])).toEqual(sent);
    expect(page.next).toEqual(next);
  });

  it("asks for changes since the checkpoint to the second, in UTC", () => {
    expect(sinceParameter(at("2026-12-06T09:00:07.900Z"))).toBe("2026-12-06T09:00:07+00:00");
  });
});
