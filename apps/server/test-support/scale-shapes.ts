// An organization grown large, and the reads asked of it, in one place for the two that use them:
// the scale suite (tests/bench, `npm run bench:scale`), which times each read on 100k and 1M
// instances, and the plan check (test/database/*-store.test.ts), which asserts on a few thousand
// that each goes through its index, with no scan and no sort, on both stores.
//
// An organization is grown from one instance the server wrote (through the API or the store): its
// row is copied `count` times in one statement, every column as the server wrote it (the sealed
// secrets stay valid: they are sealed to the organization, not to the row) except the token's hash,
// 32 random bytes for each copy as a create draws them, the name, numbered, and the tags; then each
// copy's rows of instance_tags are written from its tags, as migration 8 fills them, and its row of
// instance_polls is a copy of the template's, when the poller has written one (the poller schedules
// every instance it has not seen: without these rows a server started on the copies would first
// catch up on every one of them). What a copy lacks is the event signing secret the create wrote
// beside its template: it is sealed to the instance's id, so it cannot be copied, and no read here
// touches it.

/** Every copy carries `everyInstance` and one of ten group tags: `tenth` is on one copy in ten. */
export const scaleTags = { everyInstance: "bench", tenth: "group-3", otherTenth: "group-4", absent: "absent" } as const;

/** The template's connector, and one of the catalog's that no copy has. */
export const scaleConnectors = { own: "freshservice", absent: "taxify" } as const;

/** The index a read goes through, named as both schemas name it. */
export type ScaleIndex =
  "instances key" | "instances_by_organization" | "instances_by_connector" | "instances_by_token" | "instance_tags key";

export interface ScaleRead {
  name: string;
  kind: "get" | "token" | "list";
  /** For a list: its filters, and whether it starts from a cursor at nine tenths of the organization. */
  tags?: string[];
  connectorKey?: string;
  deep?: boolean;
  /**
   * The indexes its statements go through, and no others (a list by several tags first counts each
   * tag's rows on instance_tags' key, and probes the other tags there, and the connector on
   * (organization_id, connector_key, id), for each candidate; a list by tags reads each instance it
   * keeps by its id).
   */
  indexes: ScaleIndex[];
  /**
   * Its matches are sparse or none: a page stops at the bound on candidates (store.ts's
   * candidatesPerPage), with fewer instances than asked and a next page to follow.
   */
  bounded?: boolean;
}

export const scaleReads: ScaleRead[] = [
  { name: "get by id", kind: "get", indexes: ["instances key"] },
  { name: "by token hash", kind: "token", indexes: ["instances_by_token"] },
  { name: "first page", kind: "list", indexes: ["instances_by_organization"] },
  { name: "deep cursor page", kind: "list", deep: true, indexes: ["instances_by_organization"] },
  { name: "by connector", kind: "list", connectorKey: scaleConnectors.own, indexes: ["instances_by_connector"] },
  { name: "by a connector no instance has", kind: "list", connectorKey: scaleConnectors.absent, indexes: ["instances_by_connector"] },
  { name: "a 10 % tag", kind: "list", tags: [scaleTags.tenth], indexes: ["instance_tags key", "instances key"] },
  {
    name: "several tags",
    kind: "list",
    tags: [scaleTags.everyInstance, scaleTags.tenth],
    indexes: ["instance_tags key", "instances key"],
  },
  {
    name: "two 10 % tags no instance has together",
    kind: "list",
    tags: [scaleTags.tenth, scaleTags.otherTenth],
    indexes: ["instance_tags key", "instances key"],
    bounded: true,
  },
  {
    name: "a 10 % tag of a connector no instance has",
    kind: "list",
    tags: [scaleTags.tenth],
    connectorKey: scaleConnectors.absent,
    indexes: ["instance_tags key", "instances_by_connector", "instances key"],
    bounded: true,
  },
  { name: "an empty tag", kind: "list", tags: [scaleTags.absent], indexes: ["instance_tags key", "instances key"] },
];

export type ScaleDialect = "sqlite" | "postgres";

/**
 * The statements that add `count` copies of instance `templateId` to its organization (see the
 * header). `afterId`: the largest instance id before they run; every copy's id comes after it.
 * Values are written into the SQL: they are numbers.
 */
export function copyInstancesSql(dialect: ScaleDialect, templateId: number, count: number, afterId: number): string[] {
  const [template, copies, after] = [templateId, count, afterId].map((value) => {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`not a whole number: ${value}`);
    return String(value);
  }) as [string, string, string];
  const columns =
    "organization_id, connector_key, name, tags, configuration, secrets, secret_keys, token_hash, disabled, version, created_at, updated_at, provisioning, refresh_due_at";
  if (dialect === "sqlite")
    return [
      `WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${copies})
       INSERT INTO instances (${columns})
         SELECT t.organization_id, t.connector_key, t.name || ' ' || i, json_array('${scaleTags.everyInstance}', 'group-' || (i % 10)),
                t.configuration, t.secrets, t.secret_keys, randomblob(32), t.disabled, t.version, t.created_at, t.updated_at,
                t.provisioning, t.refresh_due_at
         FROM n, instances AS t WHERE t.id = ${template}`,
      // In the key's order, as migration 8 fills the table: each row lands at the end of the tree.
      `INSERT INTO instance_tags (organization_id, tag, instance_id)
         SELECT instances.organization_id, tag.value, instances.id FROM instances, json_each(instances.tags) AS tag
         WHERE instances.id > ${after} ORDER BY 1, 2, 3`,
      ...copyPolls(template, after),
    ];
  return [
    `INSERT INTO instances (${columns})
       SELECT t.organization_id, t.connector_key, t.name || ' ' || i, jsonb_build_array('${scaleTags.everyInstance}', 'group-' || (i % 10)),
              t.configuration, t.secrets, t.secret_keys, sha256(convert_to(random()::text || i, 'UTF8')), t.disabled, t.version,
              t.created_at, t.updated_at, t.provisioning, t.refresh_due_at
       FROM generate_series(1, ${copies}) AS i, instances AS t WHERE t.id = ${template}
       ORDER BY i`,
    `INSERT INTO instance_tags (organization_id, tag, instance_id)
       SELECT instances.organization_id, tag, instances.id FROM instances, jsonb_array_elements_text(instances.tags) AS tag
       WHERE instances.id > ${after}`,
    ...copyPolls(template, after),
  ];
}

/**
 * The template's row of instance_polls for each copy (none when it has none), in both dialects;
 * then, for each copy given one, the copy's row of the poller's queue taken away, as the poller
 * takes it once it has seen that version (the insert's trigger queued every copy: migration 13).
 * Left there, a server started on a million copies first works through a million queued rows
 * (on SQLite, its reader threads busy for an hour, and its stop waiting for them).
 */
const copyPolls = (template: string, after: string) => [
  `INSERT INTO instance_polls (instance_id, organization_id, instance_version, due_at, checkpoints, started_at, failures)
     SELECT instances.id, poll.organization_id, poll.instance_version, poll.due_at, poll.checkpoints, poll.started_at, poll.failures
     FROM instances, instance_polls AS poll WHERE instances.id > ${after} AND poll.instance_id = ${template}`,
  `DELETE FROM instance_poll_changes WHERE instance_id > ${after}
     AND instance_id IN (SELECT instance_id FROM instance_polls WHERE instance_id > ${after})`,
];

/** Which instance a deep cursor page starts after: the one at nine tenths of the organization's, in id order. */
export function deepCursorIdSql(organizationId: number): string {
  if (!Number.isSafeInteger(organizationId)) throw new Error(`not a whole number: ${organizationId}`);
  const count = `(SELECT count(*) FROM instances WHERE organization_id = ${organizationId})`;
  return `SELECT id FROM instances WHERE organization_id = ${organizationId} ORDER BY id LIMIT 1 OFFSET ${count} * 9 / 10`;
}
