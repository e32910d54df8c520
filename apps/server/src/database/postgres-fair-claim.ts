// The fair claim of due rows on PostgreSQL, for every table claimed that way (token refreshes on
// instances, polls on instance_polls), shared by every replica: the claim locks the due rows it
// takes with FOR UPDATE SKIP LOCKED, so replicas claiming at the same moment take different rows
// rather than wait for each other, and a row claimed (its lease running) is not due for anyone else.
import { anyOrganization, type ClaimedTable, type ClaimFairnessUnderWay } from "./claim-fairness.js";

/**
 * The claim. `organizations` lists the organizations that have due rows at all, one step of the
 * index on (organization_id, due, id) each (a loose scan, which PostgreSQL does not do by itself;
 * ordered by both columns, so that no other index serves the step, walking the rows of an
 * organization with nothing due); of each, its earliest due rows that nobody holds, at most $6,
 * read from that index in the claim's order, stopping there, and locked (FOR UPDATE SKIP LOCKED: a
 * window function cannot be); then the first of every organization, the second..., up to the
 * limit and to each organization's share less what the claimer has of it under way. So a claim
 * reads a few rows per organization, never every due row (the whole table, after an outage: 13 to
 * 38 ms with 26,000 due refreshes). What is under way is joined once (a subquery over it for each
 * row read made the claim 1.5 times as long with 60 organizations under way, 500 with due rows).
 */
export function postgresFairClaimSql({ table, id, dueAt, claimedBy, claimedUntil, returning }: ClaimedTable): string {
  return `
  WITH RECURSIVE organizations AS (
    (SELECT organization_id FROM ${table} WHERE ${dueAt} IS NOT NULL ORDER BY organization_id, ${dueAt} LIMIT 1)
    UNION ALL
    SELECT (SELECT organization_id FROM ${table}
            WHERE ${dueAt} IS NOT NULL AND organization_id > organizations.organization_id
            ORDER BY organization_id, ${dueAt} LIMIT 1)
    FROM organizations WHERE organizations.organization_id IS NOT NULL),
  due AS (
    SELECT d.${id}, d.organization_id, d.${dueAt} FROM organizations,
      LATERAL (SELECT ${id}, organization_id, ${dueAt} FROM ${table}
               WHERE organization_id = organizations.organization_id AND ${dueAt} <= $3
                 AND (${claimedUntil} IS NULL OR ${claimedUntil} < $3)
               ORDER BY ${dueAt}, ${id} LIMIT $6
               FOR UPDATE SKIP LOCKED) d
    WHERE organizations.organization_id IS NOT NULL AND NOT (organizations.organization_id = ANY ($5::bigint[]))),
  picked AS (
    SELECT ${id} FROM (SELECT ${id}, organization_id, ${dueAt},
                              row_number() OVER (PARTITION BY organization_id ORDER BY ${dueAt}, ${id}) AS turn
                       FROM due) numbered
      LEFT JOIN unnest($8::bigint[], $9::int[]) AS busy (organization_id, count) USING (organization_id)
    WHERE turn <= $7::bigint - coalesce(busy.count, 0)
    ORDER BY turn, ${dueAt}, ${id} LIMIT $4)
  UPDATE ${table} SET ${claimedBy} = $1, ${claimedUntil} = $2
  WHERE ${id} IN (SELECT ${id} FROM picked)
  RETURNING ${returning}`;
}

/** The claim's parameters: up to `limit` rows due at `now`, for `owner` until `now + leaseMs`. */
export function postgresFairClaimValues(
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
  { perOrganization, skip, underWay = [] }: ClaimFairnessUnderWay = anyOrganization,
): unknown[] {
  return [
    owner,
    now + leaseMs,
    now,
    limit,
    skip,
    Math.min(perOrganization, limit),
    perOrganization,
    underWay.map(([organizationId]) => organizationId),
    underWay.map(([, count]) => count),
  ];
}
