/** Live seat counts: the newest count per license wins, whether it came from a query or a subscription. */
import { useSubscription } from 'urql';
import { graphql, type ResultOf } from './graphql.ts';

export interface SeatCount {
  licenseId: string;
  used: number;
  max: number;
  /** Of `used`: past the limit, and borrowed; and the tickets waiting in line. Read where a page shows them. */
  overage?: number;
  borrowed?: number;
  queued?: number;
  changedAt: string;
}

export const newer = (a: SeatCount | undefined, b: SeatCount | undefined): SeatCount | undefined =>
  !a ? b : !b ? a : Date.parse(b.changedAt) >= Date.parse(a.changedAt) ? b : a;

const ORGANIZATION_SEATS = graphql(`
  subscription OrganizationSeats($licenseIds: [ID!]) {
    seatCountsChanged(licenseIds: $licenseIds) {
      licenseId
      used
      max
      changedAt
    }
  }
`);

/**
 * Every seat-count change of the organization since the page opened, by license, with the
 * current counts of `shown` first (the licenses the page lists, once its query has answered:
 * a change made between that answer and the subscription is in the snapshot).
 */
export function useOrganizationSeats(shown: readonly string[] | undefined): Record<string, SeatCount> {
  const licenseIds = shown ? [...shown].sort() : [];
  const [{ data }] = useSubscription(
    { query: ORGANIZATION_SEATS, variables: { licenseIds }, pause: shown === undefined },
    (counts: Record<string, SeatCount> = {}, event) => {
      const count = event.seatCountsChanged;
      const kept = newer(counts[count.licenseId], count);
      return kept === counts[count.licenseId] ? counts : { ...counts, [count.licenseId]: count };
    },
  );
  return data ?? {};
}

const LICENSE_SEATS = graphql(`
  subscription LicenseSeats($licenseId: ID!) {
    seatCountChanged(licenseId: $licenseId) {
      licenseId
      used
      max
      overage
      queued
      borrowed
      changedAt
    }
  }
`);

/** One license's seat count, now and on every change. */
export function useLicenseSeats(licenseId: string): SeatCount | undefined {
  const [{ data }] = useSubscription<ResultOf<typeof LICENSE_SEATS>, SeatCount>(
    { query: LICENSE_SEATS, variables: { licenseId } },
    (current, event) => newer(current, event.seatCountChanged)!,
  );
  return data;
}
