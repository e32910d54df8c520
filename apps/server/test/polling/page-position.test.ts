// Where a page of a vendor's listing leaves the poll of a resource (polling/page-position.ts),
// table-driven: a listing ordered by change time moves the checkpoint with each page; one in
// another order keeps it until the listing's end, noting the page reached and the newest change,
// and ends no later than the second the listing began.
import { describe, expect, it } from "vitest";
import { afterPage, positionOf, type AfterPage, type PageRead } from "../../src/polling/page-position.js";
import type { Checkpoint } from "../../src/polling/vendor-changes.js";

const fields = { id: "id", created: "created_at", modified: "updated_at" };
const at = (time: string) => Date.parse(`2026-12-06T${time}Z`);
const ticket = (id: number, updated: string) => ({ id, created_at: "2026-01-01T00:00:00Z", updated_at: `2026-12-06T${updated}Z` });
const base: Checkpoint = { since: at("09:00:00"), seen: [] };
const read = (given: Partial<PageRead>): PageRead => ({
  records: [],
  last: false,
  checkpoint: base,
  position: { offset: 0, page: 1 },
  fields,
  windowStart: base.since,
  orderedByChange: false,
  now: at("09:10:00"),
  fetchedAt: at("09:10:00"),
  ...given,
});
const sent = (after: AfterPage) => after.changes.map((change) => change.recordId);

describe("afterPage", () => {
  it.each<[string, { given: Partial<PageRead>; sent: string[]; want: Omit<AfterPage, "changes"> }]>([
    [
      "an ordered listing moves the checkpoint to the page's newest change and starts again from it",
      {
        given: { orderedByChange: true, records: [ticket(1, "09:01:00"), ticket(2, "09:02:00")] },
        sent: ["1", "2"],
        want: { checkpoint: { since: at("09:02:00"), seen: ["2"] }, moved: true, done: false, position: { offset: 0, page: 1 } },
      },
    ],
    [
      "an ordered listing whose page is all at the checkpoint's second goes on past it",
      {
        given: { orderedByChange: true, records: [ticket(1, "09:00:00"), ticket(2, "09:00:00")] },
        sent: ["1", "2"],
        want: { checkpoint: { since: base.since, seen: ["1", "2"] }, moved: true, done: false, position: { offset: 2, page: 2 } },
      },
    ],
    [
      "another order keeps the checkpoint and notes the next page and the newest change",
      {
        given: { records: [ticket(1, "09:05:00"), ticket(2, "09:01:00")] },
        sent: ["1", "2"],
        want: {
          checkpoint: { ...base, pass: { offset: 2, page: 2, newest: { since: at("09:05:00"), seen: ["1"] }, startedAt: at("09:10:00") } },
          moved: true,
          done: false,
          position: { offset: 2, page: 2 },
        },
      },
    ],
    [
      "another order sends an older change on a later page, and moves the checkpoint at the listing's end",
      {
        given: {
          last: true,
          position: { offset: 2, page: 2 },
          checkpoint: { ...base, pass: { offset: 2, page: 2, newest: { since: at("09:05:00"), seen: ["1"] }, startedAt: at("09:10:00") } },
          records: [ticket(3, "09:03:00"), ticket(4, "09:05:00")],
        },
        sent: ["3", "4"],
        want: { checkpoint: { since: at("09:05:00"), seen: ["1", "4"] }, moved: true, done: true, position: { offset: 0, page: 1 } },
      },
    ],
    [
      "another order ends no later than the second its listing began",
      {
        given: {
          last: true,
          position: { offset: 2, page: 2 },
          checkpoint: { ...base, pass: { offset: 2, page: 2, newest: { since: at("09:05:00"), seen: ["1"] }, startedAt: at("09:04:00") } },
          records: [ticket(3, "09:03:00")],
        },
        sent: ["3"],
        want: { checkpoint: { since: at("09:04:00"), seen: [] }, moved: true, done: true, position: { offset: 0, page: 1 } },
      },
    ],
    [
      "an empty page ends the listing",
      {
        given: { records: [] },
        sent: [],
        want: { checkpoint: base, moved: true, done: true, position: { offset: 0, page: 1 } },
      },
    ],
  ])("%s", (_name, { given, sent: ids, want }) => {
    const after = afterPage(read(given));
    expect(sent(after)).toEqual(ids);
    const { changes: _changes, ...rest } = after;
    expect(rest).toEqual(want);
  });

  it("resumes a listing at the page its pass reached", () => {
    expect(positionOf(base)).toEqual({ offset: 0, page: 1 });
    const pass = { offset: 6, page: 3, newest: { since: base.since, seen: [] }, startedAt: base.since };
    expect(positionOf({ ...base, pass })).toEqual({ offset: 6, page: 3 });
  });
});
