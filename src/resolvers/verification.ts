/** `licenseVerifications`: the verification log of one license. */
import { builder } from '../schema/builder.ts';
import { pageSize, toPage } from '../schema/connection.ts';
import { requireActor } from '../schema/context.ts';
import { ValidationCodeEnum } from '../schema/license.ts';
import { LicenseVerificationConnectionType } from '../schema/verification.ts';
import { unwrap } from '../services/errors.ts';
import { listLicenseVerifications, verificationCursor } from '../services/verifications/listing.ts';

builder.queryFields((t) => ({
  licenseVerifications: t.field({
    authScopes: { scope: 'licenses:read' },
    type: LicenseVerificationConnectionType,
    description: 'Newest first: entries at or after from and before to, kept 7 days; result filters by one code.',
    args: {
      licenseId: t.arg.id({ required: true }),
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', required: true, description: 'Exclusive.' }),
      result: t.arg({ type: ValidationCodeEnum, required: false }),
      first: t.arg.int({ required: false }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const page = await listLicenseVerifications(ctx.services, requireActor(ctx).orgId, {
        licenseId: String(args.licenseId),
        from: args.from,
        to: args.to,
        result: args.result,
        first: pageSize(args.first),
        after: args.after,
      });
      return toPage(unwrap(page), verificationCursor);
    },
  }),
}));
