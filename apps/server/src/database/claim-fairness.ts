// How background work is shared when a replica claims due rows (token refreshes, event
// deliveries): round-robin across organizations, so that one organization with many due rows, or
// rows whose vendor or receiver hangs, never holds back another's. Both dialects of both claims
// take it.
export interface ClaimFairness {
  /** At most this many of one organization's rows per claim. */
  perOrganization: number;
  /** Organizations whose rows are not claimed now (those already at their share on this replica). */
  skip: readonly number[];
}

/** With no fairness asked for: any number of one organization's, none skipped. */
export const anyOrganization: ClaimFairness = { perOrganization: Number.MAX_SAFE_INTEGER, skip: [] };
