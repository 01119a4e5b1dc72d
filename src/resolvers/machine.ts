/** A license's machines: listing them (operators) and deactivating one. */
import { builder } from '../schema/builder.ts';
import { pageSize, toPage } from '../schema/connection.ts';
import { requireActor } from '../schema/context.ts';
import { LicenseType } from '../schema/license.ts';
import { DeactivateMachineInput, DeactivateMachineResult, MachineConnectionType } from '../schema/machine.ts';
import { deactivateMachine, listMachines } from '../services/seats/machines.ts';
import { unwrap } from '../services/errors.ts';

builder.objectField(LicenseType, 'machines', (t) =>
  t.field({
    authScopes: { scope: 'licenses:read' },
    type: MachineConnectionType,
    description: 'The machines that count against maxMachines, in the order they were first seen.',
    args: { first: t.arg.int({ required: false }), after: t.arg.string({ required: false }) },
    resolve: async (license, args, ctx) =>
      toPage(
        await listMachines(ctx.services, requireActor(ctx).orgId, license.id, { first: pageSize(args.first), after: args.after }),
        (machine) => machine.fingerprint,
      ),
  }),
);

builder.mutationFields((t) => ({
  deactivateMachine: t.field({
    authScopes: { scope: 'seats:admin' },
    type: DeactivateMachineResult,
    description:
      'Frees a machine of a license so another may activate in its place; refused while a live session holds it unless force. Bounded by maxDeactivationsPerMonth.',
    args: { input: t.arg({ type: DeactivateMachineInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      unwrap(
        await deactivateMachine(ctx.services, requireActor(ctx), {
          licenseId: String(input.licenseId),
          fingerprint: input.fingerprint,
          force: input.force,
        }),
      ),
  }),
}));
