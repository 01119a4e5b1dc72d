/** Seat operations of client apps (no credential but the license key) and the live seat count. */
import { subscriptionStream } from '../lib/asyncIterators.ts';
import { parseCountMessage, seatChannel } from '../stores/seats/contract.ts';
import { NoSeatsAvailable, SessionExpired, SessionNotFound, TooManyMachines } from '../services/errors.ts';
import { getLicense } from '../services/licenses/licenses.ts';
import { acquireSeat, heartbeatSeat, releaseSeat, seatCount } from '../services/seats/seats.ts';
import { builder } from '../schema/builder.ts';
import { requireActor } from '../schema/context.ts';
import { LICENSE_ERRORS } from '../schema/errors.ts';
import {
  AcquireSeatInput,
  HeartbeatSeatInput,
  ReleaseSeatInput,
  SeatCountType,
  SeatGrantedType,
  SeatReleasedType,
  SeatRenewedType,
} from '../schema/seat.ts';
import { RequestError } from '../services/errors.ts';

const AcquireSeatResult = builder.errorUnion('AcquireSeatResult', {
  types: [SeatGrantedType, ...LICENSE_ERRORS, NoSeatsAvailable, TooManyMachines],
  resolveType: () => 'SeatGranted',
});
const HeartbeatSeatResult = builder.errorUnion('HeartbeatSeatResult', {
  types: [SeatRenewedType, ...LICENSE_ERRORS, SessionExpired, SessionNotFound],
  resolveType: () => 'SeatRenewed',
});
const ReleaseSeatResult = builder.errorUnion('ReleaseSeatResult', {
  types: [SeatReleasedType, ...LICENSE_ERRORS, SessionNotFound],
  resolveType: () => 'SeatReleased',
});

const valueOrError = <T, E>(result: { ok: true; value: T } | { ok: false; error: E }) => (result.ok ? result.value : result.error);

builder.mutationFields((t) => ({
  acquireSeat: t.field({
    skipTypeScopes: true,
    type: AcquireSeatResult,
    args: { input: t.arg({ type: AcquireSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) => valueOrError(await acquireSeat(ctx.services, input, ctx.requestId, ctx.seatRateLimit)),
  }),
  heartbeatSeat: t.field({
    skipTypeScopes: true,
    type: HeartbeatSeatResult,
    args: { input: t.arg({ type: HeartbeatSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      valueOrError(
        await heartbeatSeat(ctx.services, { licenseKey: input.licenseKey, sessionId: String(input.sessionId) }, ctx.seatRateLimit),
      ),
  }),
  releaseSeat: t.field({
    skipTypeScopes: true,
    type: ReleaseSeatResult,
    args: { input: t.arg({ type: ReleaseSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      valueOrError(
        await releaseSeat(
          ctx.services,
          { licenseKey: input.licenseKey, sessionId: String(input.sessionId) },
          ctx.requestId,
          ctx.seatRateLimit,
        ),
      ),
  }),
}));

builder.subscriptionFields((t) => ({
  seatCountChanged: t.field({
    authScopes: { scope: 'licenses:read' },
    type: SeatCountType,
    description: 'The current count first, then every change: acquire, release, expiry, revoke, limit change.',
    args: { licenseId: t.arg.id({ required: true }) },
    subscribe: async (_root, { licenseId }, ctx) => {
      const actor = requireActor(ctx);
      const id = String(licenseId);
      if (!(await getLicense(ctx.services, actor.orgId, id))) {
        throw new RequestError('BAD_USER_INPUT', 'No license with this id.', { field: 'licenseId' });
      }
      // Attach first, then read the current count, so no change can fall between the two;
      // a change published before the read (or the read's own reload) may still arrive after it, and is skipped.
      const messages = await ctx.services.pubsub.subscribe(seatChannel(id));
      try {
        const current = await seatCount(ctx.services, id);
        return subscriptionStream(current, messages, (message) => {
          const count = parseCountMessage(id, message);
          const older = count.changedAt < current.changedAt;
          const repeat =
            count.changedAt.getTime() === current.changedAt.getTime() && count.used === current.used && count.max === current.max;
          return older || repeat ? undefined : count;
        });
      } catch (error) {
        await messages.return?.();
        throw error;
      }
    },
    resolve: (count) => count,
  }),
}));
