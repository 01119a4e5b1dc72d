/** Sessions as operators see them, and force-releasing one. */
import { revokeSession } from '../services/seats/seats.ts';
import { getSession, listSessions, sessionFromRow } from '../services/sessions/sessions.ts';
import { builder } from '../schema/builder.ts';
import { pageSize, toPage } from '../schema/connection.ts';
import { requireActor } from '../schema/context.ts';
import { RevokeSessionInput, RevokeSessionResult, SeatSessionConnectionType, SeatSessionType } from '../schema/seat.ts';
import { unwrap } from '../services/errors.ts';

builder.queryFields((t) => ({
  session: t.field({
    authScopes: { scope: 'licenses:read' },
    type: SeatSessionType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const row = await getSession(ctx.services, requireActor(ctx).orgId, String(id));
      return row ? sessionFromRow(row) : null;
    },
  }),
  sessions: t.field({
    authScopes: { scope: 'licenses:read' },
    type: SeatSessionConnectionType,
    description: 'Sessions of a license, newest first; `active` filters open (true) or ended (false) ones.',
    args: {
      licenseId: t.arg.id({ required: true }),
      active: t.arg.boolean({ required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const page = await listSessions(ctx.services, requireActor(ctx).orgId, {
        licenseId: String(args.licenseId),
        active: args.active,
        first: pageSize(args.first),
        after: args.after,
      });
      return toPage({ rows: page.rows.map(sessionFromRow), hasNextPage: page.hasNextPage }, (s) => s.id);
    },
  }),
}));

builder.mutationFields((t) => ({
  revokeSession: t.field({
    authScopes: { scope: 'seats:admin' },
    type: RevokeSessionResult,
    description: 'Force-releases a session: its seat is free at once and its next heartbeat answers SESSION_EXPIRED.',
    args: { input: t.arg({ type: RevokeSessionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ session: unwrap(await revokeSession(ctx.services, requireActor(ctx), String(input.id))) }),
  }),
}));
