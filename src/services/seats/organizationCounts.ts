/**
 * Every seat-count change of any license of one organization, for an overview page: one
 * subscription instead of one per license. Scripts publish per license, so this listens to
 * every license's channel and keeps those of the organization, asking Postgres (under the
 * tenant's RLS) once per license it has not seen; a license never changes organization.
 *
 * A page that shows some licenses names them, and gets their counts first: read after the
 * stream is attached, so a change that lands while the page loads is in the snapshot or in the
 * stream, never lost between the page's query and its subscription.
 */
import { subscriptionStream } from '../../lib/asyncIterators.ts';
import type { ChannelMessage } from '../../stores/pubsub/contract.ts';
import { parseCountMessage, SEAT_CHANNEL_PREFIX, type SeatCount } from '../../stores/seats/contract.ts';
import type { ServiceContext } from '../context.ts';
import { err, guarded, InvalidInput, ok, type Result } from '../errors.ts';
import { getLicense, licensesAmong } from '../licenses/licenses.ts';
import { seatCount, tellsNews } from './seats.ts';

/** How many licenses one subscription remembers the owner of, before it starts asking again. */
const OWNERS_REMEMBERED = 50_000;
/** How many licenses a subscriber may ask the current counts of: a page of the console's list at most. */
export const MAX_SNAPSHOT_LICENSES = 100;

export async function organizationSeatCountUpdates(
  ctx: ServiceContext,
  orgId: string,
  snapshotOf: readonly string[] = [],
): Promise<Result<AsyncIterableIterator<SeatCount>, InvalidInput>> {
  const wanted = [...new Set(snapshotOf)];
  if (wanted.length > MAX_SNAPSHOT_LICENSES)
    return err(new InvalidInput(`At most ${MAX_SNAPSHOT_LICENSES} licenses per subscription.`, 'licenseIds'));
  const found = await licensesAmong(ctx, orgId, wanted);
  if (found.length < wanted.length) return err(new InvalidInput('No license with this id.', 'licenseIds'));

  const messages = await guarded('The publisher', () => ctx.pubsub.subscribePrefix(SEAT_CHANNEL_PREFIX));
  try {
    const known = new Map<string, SeatCount>();
    for (const count of await Promise.all(wanted.map((id) => seatCount(ctx, id)))) known.set(count.licenseId, count);
    const ours = new Map<string, boolean>(wanted.map((id) => [id, true]));
    return ok(
      subscriptionStream<SeatCount, ChannelMessage>([...known.values()], messages, async ({ channel, message }) => {
        const licenseId = channel.slice(SEAT_CHANNEL_PREFIX.length);
        let owned = ours.get(licenseId);
        if (owned === undefined) {
          owned = (await getLicense(ctx, orgId, licenseId)) !== undefined;
          if (ours.size >= OWNERS_REMEMBERED) ours.clear();
          ours.set(licenseId, owned);
        }
        if (!owned) return undefined;
        const count = parseCountMessage(licenseId, message);
        if (!tellsNews(count, known.get(licenseId))) return undefined;
        // Bounded as `ours`: a count forgotten lets at most one repeat of it through.
        if (!known.has(licenseId) && known.size >= OWNERS_REMEMBERED) known.clear();
        known.set(licenseId, count);
        return count;
      }),
    );
  } catch (error) {
    await messages.return?.();
    throw error;
  }
}
