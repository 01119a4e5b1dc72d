/** `recordUsage`: the licensed app (no credential but the license key) takes from a meter of its license. */
import { builder } from '../schema/builder.ts';
import { seatCaller } from '../schema/context.ts';
import { RecordUsageInput, RecordUsageResult } from '../schema/meter.ts';
import { unwrap } from '../services/errors.ts';
import { recordUsage } from '../services/meters/meters.ts';

builder.mutationFields((t) => ({
  recordUsage: t.field({
    skipTypeScopes: true,
    type: RecordUsageResult,
    description: 'Takes `amount` from a meter of the license, at most limit + overage per period, once per idempotency key.',
    args: { input: t.arg({ type: RecordUsageInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await recordUsage(ctx.services, input, seatCaller(ctx))),
  }),
}));
