/** Types of a license's machines: the fingerprints that count against maxMachines, and deactivating one. */
import { DeactivationLimitReached, MachineInUse, MachineNotFound, LicenseNotFound } from '../services/errors.ts';
import type { MachineView } from '../services/seats/machines.ts';
import { builder } from './builder.ts';
import { connectionType } from './connection.ts';
import { ErrorInterface } from './errors.ts';

const MachineType = builder.objectRef<MachineView>('Machine').implement({
  description: 'A machine activated on a license: it counts against maxMachines until it is deactivated.',
  fields: (t) => ({
    fingerprint: t.exposeString('fingerprint'),
    firstSeenAt: t.expose('firstSeenAt', { type: 'DateTime' }),
    lastSeenAt: t.expose('lastSeenAt', { type: 'DateTime', description: 'The last heartbeat of any of its sessions.' }),
    activeSessions: t.exposeInt('activeSessions'),
  }),
});

export const MachineConnectionType = connectionType('Machine', MachineType);

builder.objectType(MachineNotFound, { name: 'MachineNotFound', interfaces: [ErrorInterface] });
builder.objectType(MachineInUse, {
  name: 'MachineInUse',
  interfaces: [ErrorInterface],
  fields: (t) => ({ activeSessions: t.exposeInt('activeSessions') }),
});
builder.objectType(DeactivationLimitReached, {
  name: 'DeactivationLimitReached',
  interfaces: [ErrorInterface],
  fields: (t) => ({ maxDeactivationsPerMonth: t.exposeInt('maxDeactivationsPerMonth') }),
});

export const DeactivateMachineInput = builder.inputType('DeactivateMachineInput', {
  fields: (t) => ({
    licenseId: t.id({ required: true }),
    fingerprint: t.string({ required: true }),
    force: t.boolean({ required: false, description: "End the machine's live sessions (REVOKED) instead of refusing with MachineInUse." }),
  }),
});

const MachineDeactivatedType = builder.objectRef<{ machine: MachineView }>('MachineDeactivated').implement({
  fields: (t) => ({ machine: t.field({ type: MachineType, resolve: (r) => r.machine }) }),
});

export const DeactivateMachineResult = builder.errorUnion('DeactivateMachineResult', {
  types: [MachineDeactivatedType, LicenseNotFound, MachineNotFound, MachineInUse, DeactivationLimitReached],
  resolveType: () => 'MachineDeactivated',
});
