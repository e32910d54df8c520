// How background work is shared when a replica claims due rows (token refreshes, vendor polls,
// event deliveries): round-robin across organizations, so that one organization with many due
// rows, or rows whose vendor or receiver hangs, never holds back another's. Both dialects of every
// claim take it.
export interface ClaimFairness {
  /** At most this many of one organization's rows per claim. */
  perOrganization: number;
  /** Organizations whose rows are not claimed now (those already at their share on this replica). */
  skip: readonly number[];
}

/** With no fairness asked for: any number of one organization's, none skipped. */
export const anyOrganization: ClaimFairness = { perOrganization: Number.MAX_SAFE_INTEGER, skip: [] };

/** Fairness as a claimer with work under way asks for it (the refreshes' and the polls' claims). */
export interface ClaimFairnessUnderWay extends ClaimFairness {
  /**
   * How many of each organization's rows the claimer has under way (organization id, count):
   * each gets at most `perOrganization` less that many more. None listed: none under way.
   */
  underWay?: readonly (readonly [organizationId: number, count: number])[];
}

/**
 * The names a fair claim of due rows reads and writes (sqlite-fair-claim.ts,
 * postgres-fair-claim.ts). They are written into the SQL: code constants, never user input. The
 * table has an index on (organization_id, `dueAt`, `id`).
 */
export interface ClaimedTable {
  table: string;
  /** Its key. */
  id: string;
  /** When a row is due; null: never. */
  dueAt: string;
  /** Who holds a row, and until when. */
  claimedBy: string;
  claimedUntil: string;
  /** What the claim returns of each row claimed, in the dialect's own quoting. */
  returning: string;
}
