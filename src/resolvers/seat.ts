/** Seat operations of client apps (no credential but the license key) and the live seat count. */
import { builder } from '../schema/builder.ts';
import { requireActor, seatCaller } from '../schema/context.ts';
import {
  AcquireSeatInput,
  AcquireSeatResult,
  BorrowSeatInput,
  BorrowSeatResult,
  ReturnSeatInput,
  HeartbeatSeatInput,
  HeartbeatSeatResult,
  ReleaseSeatInput,
  ReleaseSeatResult,
  RequestCertificateInput,
  RequestCertificateResult,
  SeatCountType,
} from '../schema/seat.ts';
import { requestCertificate } from '../services/seats/certificates.ts';
import { acquireSeat, borrowSeat, heartbeatSeat, releaseSeat, returnSeat, seatCountUpdates } from '../services/seats/seats.ts';
import { unwrap } from '../services/errors.ts';
import { organizationSeatCountUpdates } from '../services/seats/organizationCounts.ts';

builder.mutationFields((t) => ({
  acquireSeat: t.field({
    skipTypeScopes: true,
    extensions: { signs: true },
    type: AcquireSeatResult,
    args: { input: t.arg({ type: AcquireSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await acquireSeat(ctx.services, input, seatCaller(ctx))),
  }),
  heartbeatSeat: t.field({
    skipTypeScopes: true,
    extensions: { signs: true },
    type: HeartbeatSeatResult,
    args: { input: t.arg({ type: HeartbeatSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      unwrap(await heartbeatSeat(ctx.services, { licenseKey: input.licenseKey, sessionId: String(input.sessionId) }, seatCaller(ctx))),
  }),
  releaseSeat: t.field({
    skipTypeScopes: true,
    type: ReleaseSeatResult,
    args: { input: t.arg({ type: ReleaseSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      unwrap(await releaseSeat(ctx.services, { licenseKey: input.licenseKey, sessionId: String(input.sessionId) }, seatCaller(ctx))),
  }),
  borrowSeat: t.field({
    skipTypeScopes: true,
    extensions: { signs: true },
    type: BorrowSeatResult,
    description:
      "Borrows a seat for offline use: a lease that lasts `days` without heartbeats, counted against maxSeats and maxBorrowedSeats until it ends or is returned. A machine's live lease becomes the borrow.",
    args: { input: t.arg({ type: BorrowSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await borrowSeat(ctx.services, input, seatCaller(ctx))),
  }),
  returnSeat: t.field({
    skipTypeScopes: true,
    type: ReleaseSeatResult,
    description: 'Gives a borrowed seat back before its borrow ends: free at once (it does not linger).',
    args: { input: t.arg({ type: ReturnSeatInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      unwrap(await returnSeat(ctx.services, { licenseKey: input.licenseKey, sessionId: String(input.sessionId) }, seatCaller(ctx))),
  }),
  requestCertificate: t.field({
    skipTypeScopes: true,
    extensions: { signs: true },
    type: RequestCertificateResult,
    description:
      'A license certificate for one machine, for apps that run offline: the machine is activated if it is not yet, under maxMachines.',
    args: { input: t.arg({ type: RequestCertificateInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ certificate: unwrap(await requestCertificate(ctx.services, input, seatCaller(ctx))) }),
  }),
}));

builder.subscriptionFields((t) => ({
  seatCountChanged: t.field({
    authScopes: { scope: 'licenses:read' },
    type: SeatCountType,
    description: 'The current count first, then every change: acquire, release, expiry, revoke, limit change.',
    args: { licenseId: t.arg.id({ required: true }) },
    subscribe: async (_root, { licenseId }, ctx) =>
      unwrap(await seatCountUpdates(ctx.services, requireActor(ctx).orgId, String(licenseId))),
    resolve: (count) => count,
  }),
  seatCountsChanged: t.field({
    authScopes: { scope: 'licenses:read' },
    type: SeatCountType,
    description:
      "Every seat-count change of any license of the caller's organization, from now on (one subscription for an overview). With licenseIds (at most 100 of the organization's licenses: the ones a page shows), their current counts first, so nothing that changes while the page loads is missed.",
    args: { licenseIds: t.arg.idList({ required: false }) },
    subscribe: async (_root, { licenseIds }, ctx) =>
      unwrap(await organizationSeatCountUpdates(ctx.services, requireActor(ctx).orgId, (licenseIds ?? []).map(String))),
    resolve: (count) => count,
  }),
}));
