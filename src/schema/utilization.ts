/** Seat utilization history as the API shows it: points per minute, hour or day. */
import type { UtilizationPoint } from '../services/utilization/history.ts';
import { builder } from './builder.ts';

export const GranularityEnum = builder.enumType('Granularity', {
  values: {
    MINUTE: { description: 'Kept 7 days.' },
    HOUR: { description: 'Kept 90 days; rolled up from the minutes in the background.' },
    DAY: { description: 'Kept 2 years; rolled up from the hours in the background.' },
  } as const,
});

export const UtilizationPointType = builder.objectRef<UtilizationPoint>('UtilizationPoint').implement({
  description:
    "A bucket of a license's seat activity (or the organization's, summed over its licenses); a bucket without activity has no point.",
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: "The bucket's start (UTC)." }),
    peakUsed: t.exposeInt('peakUsed', {
      description: 'The highest live seat count the seat store answered in the bucket (at grants, refusals, queue entries, releases).',
    }),
    max: t.exposeInt('max', { description: 'maxSeats in the bucket (the highest, if it changed).' }),
    grants: t.exposeInt('grants', { description: 'New seats: acquires (not renewals of a live lease), queue claims and borrows.' }),
    denials: t.exposeInt('denials', { description: 'Acquires refused with NO_SEATS_AVAILABLE.' }),
    queued: t.exposeInt('queued', { description: 'Clients that joined the seat queue.' }),
  }),
});
