/** License queries and the mutations that create and change licenses (operator credential). */
import { InvalidInput, LicenseNotFound } from '../services/errors.ts';
import { createLicense, getLicense, listLicenses, updateLicense, type LicensePatch } from '../services/licenses.ts';
import { builder } from '../schema/builder.ts';
import { requireActor } from '../schema/context.ts';
import {
  CreateLicenseInput,
  LicenseConnectionType,
  LicenseCreatedType,
  LicenseFilterInput,
  LicenseType,
  LicenseUpdatedType,
  UpdateLicenseInput,
} from '../schema/license.ts';

const CreateLicenseResult = builder.errorUnion('CreateLicenseResult', {
  types: [LicenseCreatedType, InvalidInput],
  resolveType: () => 'LicenseCreated',
});
const UpdateLicenseResult = builder.errorUnion('UpdateLicenseResult', {
  types: [LicenseUpdatedType, InvalidInput, LicenseNotFound],
  resolveType: () => 'LicenseUpdated',
});

const MAX_PAGE = 100;

builder.queryFields((t) => ({
  license: t.field({
    type: LicenseType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getLicense(ctx.services, requireActor(ctx).orgId, String(id)),
  }),
  licenses: t.field({
    type: LicenseConnectionType,
    args: {
      first: t.arg.int({ required: false, description: `1 to ${MAX_PAGE}, default 20` }),
      after: t.arg.string({ required: false }),
      filter: t.arg({ type: LicenseFilterInput, required: false }),
    },
    resolve: async (_root, args, ctx) => {
      const first = Math.min(Math.max(args.first ?? 20, 1), MAX_PAGE);
      const page = await listLicenses(ctx.services, requireActor(ctx).orgId, { first, after: args.after, filter: args.filter });
      const edges = page.rows.map((node) => ({ cursor: node.id, node }));
      return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
    },
  }),
}));

/** Explicit null is allowed only where it means something (unlimited machines, no expiry). */
function toPatch(input: typeof UpdateLicenseInput.$inferInput): LicensePatch | InvalidInput {
  const { id: _id, maxMachines, expiresAt, ...rest } = input;
  const patch: LicensePatch = {};
  for (const [field, value] of Object.entries(rest)) {
    if (value === null) return new InvalidInput(`${field} cannot be null`, field);
    if (value !== undefined) (patch as Record<string, unknown>)[field] = value;
  }
  if (maxMachines !== undefined) patch.maxMachines = maxMachines;
  if (expiresAt !== undefined) patch.expiresAt = expiresAt;
  return patch;
}

builder.mutationFields((t) => ({
  createLicense: t.field({
    type: CreateLicenseResult,
    args: { input: t.arg({ type: CreateLicenseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const result = await createLicense(ctx.services, requireActor(ctx), {
        tier: input.tier,
        features: input.features,
        maxSeats: input.maxSeats,
        maxMachines: input.maxMachines ?? null,
        leaseSeconds: input.leaseSeconds ?? null,
        reviveSeconds: input.reviveSeconds ?? null,
        expiresAt: input.expiresAt ?? null,
        metadata: (input.metadata as Record<string, unknown> | null | undefined) ?? null,
      });
      return result.ok ? result.value : result.error;
    },
  }),
  updateLicense: t.field({
    type: UpdateLicenseResult,
    args: { input: t.arg({ type: UpdateLicenseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = requireActor(ctx);
      const patch = toPatch(input);
      if (patch instanceof InvalidInput) return patch;
      const result = await updateLicense(ctx.services, actor, String(input.id), patch);
      return result.ok ? { license: result.value } : result.error;
    },
  }),
}));
