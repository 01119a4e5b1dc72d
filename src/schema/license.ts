/** The License type, its connection, and the inputs that create and change licenses. */
import type { License } from '../db/schema.ts';
import { seatCount } from '../services/seats.ts';
import { builder } from './builder.ts';
import { SeatCountType } from './seat.ts';

export const LicenseStatusEnum = builder.enumType('LicenseStatus', { values: ['ACTIVE', 'SUSPENDED', 'REVOKED'] as const });

export const LicenseType = builder.objectRef<License>('License').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    keyHint: t.exposeString('keyHint', { description: 'The last 4 characters of the key; the key itself is shown only at creation.' }),
    tier: t.exposeString('tier'),
    features: t.exposeStringList('features'),
    maxSeats: t.exposeInt('maxSeats'),
    maxMachines: t.exposeInt('maxMachines', { nullable: true }),
    leaseSeconds: t.exposeInt('leaseSeconds'),
    reviveSeconds: t.exposeInt('reviveSeconds'),
    status: t.expose('status', { type: LicenseStatusEnum }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    metadata: t.expose('metadata', { type: 'JSON' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    seats: t.field({ type: SeatCountType, resolve: (license, _args, ctx) => seatCount(ctx.services, license.id) }),
  }),
});

export const LicenseEdgeType = builder.objectRef<{ cursor: string; node: License }>('LicenseEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: LicenseType, resolve: (e) => e.node }),
  }),
});

export const PageInfoType = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});

export const LicenseConnectionType = builder
  .objectRef<{ edges: { cursor: string; node: License }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>(
    'LicenseConnection',
  )
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [LicenseEdgeType], resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfoType, resolve: (c) => c.pageInfo }),
    }),
  });

export const LicenseFilterInput = builder.inputType('LicenseFilter', {
  fields: (t) => ({
    status: t.field({ type: LicenseStatusEnum, required: false }),
    tier: t.string({ required: false }),
  }),
});

export const CreateLicenseInput = builder.inputType('CreateLicenseInput', {
  fields: (t) => ({
    tier: t.string({ required: true }),
    features: t.stringList({ required: true }),
    maxSeats: t.int({ required: true }),
    maxMachines: t.int({ required: false, description: 'Distinct machines that may ever activate; null = unlimited.' }),
    leaseSeconds: t.int({ required: false, description: 'How long a lease lives without a heartbeat (default 360).' }),
    reviveSeconds: t.int({ required: false, description: 'How long after expiry a heartbeat may still revive its lease (default 0).' }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
    metadata: t.field({ type: 'JSON', required: false }),
  }),
});

export const UpdateLicenseInput = builder.inputType('UpdateLicenseInput', {
  description: 'Fields left out stay as they are. `maxMachines: null` means unlimited; `expiresAt: null` means never.',
  fields: (t) => ({
    id: t.id({ required: true }),
    tier: t.string({ required: false }),
    features: t.stringList({ required: false }),
    maxSeats: t.int({ required: false }),
    maxMachines: t.int({ required: false }),
    leaseSeconds: t.int({ required: false }),
    reviveSeconds: t.int({ required: false }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
    metadata: t.field({ type: 'JSON', required: false }),
  }),
});

export const LicenseCreatedType = builder.objectRef<{ license: License; key: string }>('LicenseCreated').implement({
  fields: (t) => ({
    license: t.field({ type: LicenseType, resolve: (r) => r.license }),
    key: t.exposeString('key', { description: 'The license key. Shown once: it is stored only as a hash.' }),
  }),
});

export const LicenseUpdatedType = builder.objectRef<{ license: License }>('LicenseUpdated').implement({
  fields: (t) => ({ license: t.field({ type: LicenseType, resolve: (r) => r.license }) }),
});
