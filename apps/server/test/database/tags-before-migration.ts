// Instances as a database from before migration 8 keeps them, their tags in instances.tags only,
// and the check both stores' migration tests make of them once migrated: every filter lists, page
// after page, what "every tag given" selects, and a row from before changes as one written since.
import { expect } from "vitest";
import { candidatesPerPage } from "../../src/instances/store.js";
import type { Storage } from "../../src/storage.js";

/** Which of two organizations, and the tags as the instance was given them. */
export const keptBefore: { organization: 0 | 1; tags: string[] }[] = [
  { organization: 0, tags: ["red", "blue"] },
  { organization: 0, tags: [] },
  { organization: 1, tags: ["red", "blue"] },
  { organization: 0, tags: ["red"] },
  { organization: 0, tags: ["café", "日本", "😀"] },
  { organization: 0, tags: ['say "hi"', "back\\slash", "red"] },
  { organization: 0, tags: ["redder", "Red"] },
  { organization: 1, tags: ["blue"] },
  { organization: 0, tags: ["blue", "red"] },
  { organization: 1, tags: ["red", "red"] }, // a tag twice: the API refuses it, the migration takes it
];

const filters: string[][] = [
  ["red"],
  ["red", "blue"],
  ["blue", "red", "red"],
  ["café"],
  ["😀", "日本"],
  ['say "hi"', "back\\slash"],
  ["Red"],
  ["redd"],
  ["nope"],
  ["red", "nope"],
];

export interface KeptInstance {
  id: number;
  organizationId: number;
  tags: string[];
}

async function listed(storage: Storage, organizationId: number, tags: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (;;) {
    const { records } = await storage.instances.list({
      organizationId,
      tags,
      connectorKey: undefined,
      afterId: ids.at(-1) ?? 0,
      limit: 2,
      maxExamined: candidatesPerPage,
    });
    if (!records.length) return ids;
    ids.push(...records.map((record) => record.id));
  }
}

export async function expectListedAsBefore(storage: Storage, kept: KeptInstance[]): Promise<void> {
  for (const organizationId of new Set(kept.map((instance) => instance.organizationId))) {
    for (const tags of filters) {
      const expected = kept
        .filter((instance) => instance.organizationId === organizationId && tags.every((tag) => instance.tags.includes(tag)))
        .map((instance) => instance.id);
      expect(await listed(storage, organizationId, tags), JSON.stringify(tags)).toEqual(expected);
    }
  }
  const [first] = kept;
  await storage.instances.update(first!.organizationId, first!.id, undefined, { tags: ["blue"] });
  expect(await listed(storage, first!.organizationId, ["red"])).not.toContain(first!.id);
  expect(await listed(storage, first!.organizationId, ["blue"])).toContain(first!.id);
}
