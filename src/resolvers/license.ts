/** License queries and the mutations that create and change licenses (operator credential). */
import { InvalidInput, unwrap } from '../services/errors.ts';
import {
  changeLicenseLifecycle,
  createLicense,
  getLicense,
  listLicenses,
  updateLicense,
  type LicensePatch,
} from '../services/licenses/licenses.ts';
import { validateLicense } from '../services/licenses/validation.ts';
import { MAX_PAGE, pageSize, toPage } from '../schema/connection.ts';
import { builder } from '../schema/builder.ts';
import { requireActor, seatCaller } from '../schema/context.ts';
import {
  CreateLicenseInput,
  CreateLicenseResult,
  LicenseConnectionType,
  LicenseFilterInput,
  lifecycleResult,
  LicenseType,
  LicenseStatusChangeInput,
  LicenseValidationType,
  RenewLicenseInput,
  UpdateLicenseInput,
  UpdateLicenseResult,
  ValidateLicenseInput,
} from '../schema/license.ts';

builder.queryFields((t) => ({
  license: t.field({
    authScopes: { scope: 'licenses:read' },
    type: LicenseType,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getLicense(ctx.services, requireActor(ctx).orgId, String(id)),
  }),
  licenses: t.field({
    authScopes: { scope: 'licenses:read' },
    type: LicenseConnectionType,
    args: {
      first: t.arg.int({ required: false, description: `1 to ${MAX_PAGE}, default 20` }),
      after: t.arg.string({ required: false }),
      filter: t.arg({ type: LicenseFilterInput, required: false }),
    },
    resolve: async (_root, args, ctx) =>
      toPage(
        await listLicenses(ctx.services, requireActor(ctx).orgId, { first: pageSize(args.first), after: args.after, filter: args.filter }),
        (license) => license.id,
      ),
  }),
}));

/** Explicit null is allowed only where it means something (unlimited machines, no expiry). */
function toPatch(input: typeof UpdateLicenseInput.$inferInput): LicensePatch | InvalidInput {
  const { id: _id, maxMachines, maxProcessesPerMachine, maxDeactivationsPerMonth, maxBorrowedSeats, expiresAt, ...rest } = input;
  const patch: LicensePatch = {};
  for (const [field, value] of Object.entries(rest)) {
    if (value === null) return new InvalidInput(`${field} cannot be null`, field);
    if (value !== undefined) (patch as Record<string, unknown>)[field] = value;
  }
  if (maxMachines !== undefined) patch.maxMachines = maxMachines;
  if (maxProcessesPerMachine !== undefined) patch.maxProcessesPerMachine = maxProcessesPerMachine;
  if (maxDeactivationsPerMonth !== undefined) patch.maxDeactivationsPerMonth = maxDeactivationsPerMonth;
  if (maxBorrowedSeats !== undefined) patch.maxBorrowedSeats = maxBorrowedSeats;
  if (expiresAt !== undefined) patch.expiresAt = expiresAt;
  return patch;
}

builder.mutationFields((t) => ({
  createLicense: t.field({
    authScopes: { scope: 'licenses:write' },
    type: CreateLicenseResult,
    args: { input: t.arg({ type: CreateLicenseInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      unwrap(
        await createLicense(ctx.services, requireActor(ctx), {
          tier: input.tier,
          features: input.features,
          maxSeats: input.maxSeats,
          maxMachines: input.maxMachines ?? null,
          leaseSeconds: input.leaseSeconds ?? null,
          reviveSeconds: input.reviveSeconds ?? null,
          expiresAt: input.expiresAt ?? null,
          metadata: (input.metadata as Record<string, unknown> | null | undefined) ?? null,
          overage: input.overage ?? null,
          leasingStrategy: input.leasingStrategy ?? null,
          maxProcessesPerMachine: input.maxProcessesPerMachine ?? null,
          lingerSeconds: input.lingerSeconds ?? null,
          maxDeactivationsPerMonth: input.maxDeactivationsPerMonth ?? null,
          maxBorrowDays: input.maxBorrowDays ?? null,
          maxBorrowedSeats: input.maxBorrowedSeats ?? null,
          queue: input.queue ?? null,
          meters: input.meters ?? null,
        }),
      ),
  }),
  updateLicense: t.field({
    authScopes: { scope: 'licenses:write' },
    type: UpdateLicenseResult,
    args: { input: t.arg({ type: UpdateLicenseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const actor = requireActor(ctx);
      const patch = toPatch(input);
      if (patch instanceof InvalidInput) throw patch;
      return { license: unwrap(await updateLicense(ctx.services, actor, String(input.id), patch)) };
    },
  }),
}));

const lifecycle = [
  [
    'suspendLicense',
    'SuspendLicenseResult',
    'suspended',
    'Suspends a license: every live session ends and no seat is granted until it is reinstated.',
  ],
  ['reinstateLicense', 'ReinstateLicenseResult', 'reinstated', 'Makes a suspended license active again.'],
  ['revokeLicense', 'RevokeLicenseResult', 'revoked', 'Revokes a license for good: every live session ends.'],
] as const;

builder.mutationFields((t) =>
  Object.fromEntries(
    lifecycle.map(([field, resultName, action, description]) => [
      field,
      t.field({
        type: lifecycleResult(resultName),
        authScopes: { scope: 'licenses:write' },
        description,
        args: { input: t.arg({ type: LicenseStatusChangeInput, required: true }) },
        resolve: async (_root, { input }, ctx) => ({
          license: unwrap(
            await changeLicenseLifecycle(ctx.services, requireActor(ctx), String(input.id), action, { reason: input.reason }),
          ),
        }),
      }),
    ]),
  ),
);

builder.mutationFields((t) => ({
  renewLicense: t.field({
    authScopes: { scope: 'licenses:write' },
    type: lifecycleResult('RenewLicenseResult'),
    description: 'Extends the expiry of a license.',
    args: { input: t.arg({ type: RenewLicenseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      license: unwrap(
        await changeLicenseLifecycle(ctx.services, requireActor(ctx), String(input.id), 'renewed', { expiresAt: input.expiresAt }),
      ),
    }),
  }),
  validateLicense: t.field({
    skipTypeScopes: true,
    extensions: { signs: true },
    type: LicenseValidationType,
    description: 'Checks a license key (and optionally a machine and entitlements) and answers with a signed verdict.',
    args: { input: t.arg({ type: ValidateLicenseInput, required: true }) },
    resolve: async (_root, { input }, ctx) => unwrap(await validateLicense(ctx.services, input, seatCaller(ctx))),
  }),
}));
