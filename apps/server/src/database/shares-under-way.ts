// What a claimer of due rows has under way of each organization, so that its next claim skips the
// organizations at their share (and asks the others for no more than the rest of theirs).
export interface SharesUnderWay {
  /** One more of the organization's under way. */
  add(organizationId: number): void;
  /** One fewer. */
  remove(organizationId: number): void;
  /** Whether the organization has its whole share under way. */
  isFull(organizationId: number): boolean;
  /** The organizations that have their whole share under way. */
  full(): number[];
  /** Each organization with any under way, and how many. */
  counts(): [organizationId: number, count: number][];
}

export function sharesUnderWay(perOrganization: number): SharesUnderWay {
  const byOrganization = new Map<number, number>();
  const isFull = (organizationId: number) => (byOrganization.get(organizationId) ?? 0) >= perOrganization;
  return {
    add: (organizationId) => void byOrganization.set(organizationId, (byOrganization.get(organizationId) ?? 0) + 1),
    remove: (organizationId) => {
      const left = (byOrganization.get(organizationId) ?? 1) - 1;
      if (left > 0) byOrganization.set(organizationId, left);
      else byOrganization.delete(organizationId);
    },
    isFull,
    full: () => [...byOrganization.keys()].filter(isFull),
    counts: () => [...byOrganization],
  };
}
