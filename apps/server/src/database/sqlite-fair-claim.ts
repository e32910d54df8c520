// The fair claim of due rows on SQLite, for every table claimed that way (token refreshes on
// instances, polls on instance_polls): one UPDATE, so two claimers on the same file (two
// processes) cannot claim the same row.
import { anyOrganization, type ClaimedTable, type ClaimFairnessUnderWay } from "./claim-fairness.js";

/**
 * The claim. `organizations` lists the organizations that have due rows at all, one step of the
 * index on (organization_id, due, id) each (a loose scan); of each, its earliest due rows that
 * nobody holds, at most `share`, read from that index in the claim's order and stopping there.
 * INDEXED BY: every read stays on that index whatever the statistics say (another index on
 * organization_id would walk an organization's every row). Numbered within the organization, they
 * are taken the first of every organization, then the second..., up to the limit and to each
 * organization's share less what the claimer has of it under way: one organization with many due
 * rows waits its turn. So a claim reads a few rows per organization, never every due row (the
 * whole table, after an outage). `index` names that index. What is under way is a JSON object by
 * organization id, looked up by key in the one parse SQLite keeps of it: a scan of a list for each
 * row read made the claim 7 times as long with 60 organizations under way (500 with due rows).
 */
export function sqliteFairClaimSql({
  table,
  id,
  dueAt,
  claimedBy,
  claimedUntil,
  returning,
  index,
}: ClaimedTable & { index: string }): string {
  return `
  UPDATE ${table} SET ${claimedBy} = @owner, ${claimedUntil} = @until
  WHERE ${id} IN (
    WITH RECURSIVE organizations (organization_id) AS (
      SELECT min(organization_id) FROM ${table} INDEXED BY ${index} WHERE ${dueAt} IS NOT NULL
      UNION ALL
      SELECT (SELECT min(organization_id) FROM ${table} INDEXED BY ${index}
              WHERE ${dueAt} IS NOT NULL AND organization_id > organizations.organization_id)
      FROM organizations WHERE organization_id IS NOT NULL),
    heads AS (
      SELECT due.${id}, due.organization_id, due.${dueAt},
             row_number() OVER (PARTITION BY due.organization_id ORDER BY due.${dueAt}, due.${id}) AS turn
      FROM organizations JOIN ${table} AS due ON due.${id} IN (
        SELECT ${id} FROM ${table} INDEXED BY ${index}
        WHERE organization_id = organizations.organization_id AND ${dueAt} <= @now
          AND (${claimedUntil} IS NULL OR ${claimedUntil} < @now)
        ORDER BY ${dueAt}, ${id} LIMIT @share)
      WHERE organizations.organization_id NOT IN (SELECT value FROM json_each(@skip)))
    SELECT ${id} FROM heads
    WHERE turn <= @perOrganization - coalesce(@underWay ->> ('$."' || heads.organization_id || '"'), 0)
    ORDER BY turn, ${dueAt}, ${id} LIMIT @limit)
  RETURNING ${returning}`;
}

/** The claim's values: up to `limit` rows due at `now`, for `owner` until `now + leaseMs`. */
export function sqliteFairClaimValues(
  owner: string,
  now: number,
  leaseMs: number,
  limit: number,
  { perOrganization, skip, underWay = [] }: ClaimFairnessUnderWay = anyOrganization,
) {
  return {
    owner,
    until: now + leaseMs,
    now,
    limit,
    perOrganization,
    share: Math.min(perOrganization, limit),
    skip: JSON.stringify(skip),
    underWay: JSON.stringify(Object.fromEntries(underWay)),
  };
}
