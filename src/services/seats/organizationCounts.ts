/**
 * Every seat-count change of any license of one organization, for an overview page: one
 * subscription instead of one per license. Scripts publish per license, so this listens to
 * every license's channel and keeps those of the organization, asking Postgres (under the
 * tenant's RLS) once per license it has not seen; a license never changes organization.
 */
import { subscriptionStream } from '../../lib/asyncIterators.ts';
import type { ChannelMessage } from '../../stores/pubsub/contract.ts';
import { parseCountMessage, SEAT_CHANNEL_PREFIX, type SeatCount } from '../../stores/seats/contract.ts';
import type { ServiceContext } from '../context.ts';
import { guarded } from '../errors.ts';
import { getLicense } from '../licenses/licenses.ts';

/** How many licenses one subscription remembers the owner of, before it starts asking again. */
const OWNERS_REMEMBERED = 50_000;

export async function organizationSeatCountUpdates(ctx: ServiceContext, orgId: string): Promise<AsyncIterableIterator<SeatCount>> {
  const messages = await guarded('The publisher', () => ctx.pubsub.subscribePrefix(SEAT_CHANNEL_PREFIX));
  const ours = new Map<string, boolean>();
  return subscriptionStream<SeatCount, ChannelMessage>(undefined, messages, async ({ channel, message }) => {
    const licenseId = channel.slice(SEAT_CHANNEL_PREFIX.length);
    let owned = ours.get(licenseId);
    if (owned === undefined) {
      owned = (await getLicense(ctx, orgId, licenseId)) !== undefined;
      if (ours.size >= OWNERS_REMEMBERED) ours.clear();
      ours.set(licenseId, owned);
    }
    return owned ? parseCountMessage(licenseId, message) : undefined;
  });
}
