/** `seatUtilization`: a license's or the organization's seat activity over time. */
import { builder } from '../schema/builder.ts';
import { requireActor } from '../schema/context.ts';
import { GranularityEnum, UtilizationPointType } from '../schema/utilization.ts';
import { unwrap } from '../services/errors.ts';
import { seatUtilization } from '../services/utilization/history.ts';

builder.queryFields((t) => ({
  seatUtilization: t.field({
    authScopes: { scope: 'licenses:read' },
    type: [UtilizationPointType],
    description: 'Points whose buckets start in [from, to), oldest first; the range may cover at most as many days as its points are kept.',
    args: {
      licenseId: t.arg.id({ required: false, description: 'null: the whole organization, each figure summed over its licenses.' }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true, description: 'Exclusive.' }),
      granularity: t.arg({ type: GranularityEnum, required: true }),
    },
    resolve: async (_root, args, ctx) =>
      unwrap(
        await seatUtilization(ctx.services, requireActor(ctx).orgId, {
          licenseId: args.licenseId == null ? null : String(args.licenseId),
          from: args.from,
          to: args.to,
          granularity: args.granularity,
        }),
      ),
  }),
}));
