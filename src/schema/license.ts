/** The License type, its connection, and the inputs that create and change licenses. */
import type { LicenseRow } from '../db/rows.ts';
import { seatCount } from '../services/seats/seats.ts';
import { ValidationCode, type LicenseValidation } from '../services/licenses/validation.ts';
import { machineCertificate } from '../services/seats/certificates.ts';
import { InvalidInput, LicenseNotFound } from '../services/errors.ts';
import { builder } from './builder.ts';
import { connectionType } from './connection.ts';
import { SeatCountType, SignedLeaseType } from './seat.ts';
import { MeterInput, MeterStateType } from './meter.ts';
import { meterStates } from '../services/meters/meters.ts';

export const LicenseStatusEnum = builder.enumType('LicenseStatus', { values: ['ACTIVE', 'SUSPENDED', 'REVOKED'] as const });

export const LicenseType = builder.objectRef<LicenseRow>('License').implement({
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
    // Vendors keep their own notes here; a key holder validating the license must not read them.
    metadata: t.expose('metadata', { type: 'JSON', authScopes: { scope: 'licenses:read' } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    seats: t.field({ type: SeatCountType, resolve: (license, _args, ctx) => seatCount(ctx.services, license.id) }),
    meters: t.field({
      type: [MeterStateType],
      description: 'Each meter of the license with its count in the current period.',
      resolve: (license, _args, ctx) => meterStates(ctx.services, license),
    }),
    certificate: t.field({
      extensions: { signs: true },
      type: SignedLeaseType,
      nullable: true,
      // A key holder sees the license through validateLicense; a certificate it must ask for
      // with requestCertificate, which counts the machine against maxMachines.
      authScopes: { scope: 'licenses:read' },
      description:
        'A signed certificate of this license (tier, features, limits, expiry) for one activated machine, for apps that run offline; valid 7 days or until the license expires. Null for a fingerprint that is not an activated machine of this license.',
      args: { fingerprint: t.arg.string({ required: true }) },
      resolve: async (license, { fingerprint }, ctx) => (await machineCertificate(ctx.services, license, fingerprint)) ?? null,
    }),
  }),
});

export const LicenseConnectionType = connectionType('License', LicenseType);

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
    meters: t.field({ type: [MeterInput], required: false, description: 'Consumption meters that recordUsage takes from.' }),
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
    meters: t.field({
      type: [MeterInput],
      required: false,
      description: 'Replaces every meter; a meter kept by name goes on from its count.',
    }),
  }),
});

export const LicenseCreatedType = builder.objectRef<{ license: LicenseRow; key: string }>('LicenseCreated').implement({
  fields: (t) => ({
    license: t.field({ type: LicenseType, resolve: (r) => r.license }),
    key: t.exposeString('key', { description: 'The license key. Shown once: it is stored only as a hash.' }),
  }),
});

export const LicenseUpdatedType = builder.objectRef<{ license: LicenseRow }>('LicenseUpdated').implement({
  fields: (t) => ({ license: t.field({ type: LicenseType, resolve: (r) => r.license }) }),
});

export const LicenseStatusChangeInput = builder.inputType('LicenseStatusChangeInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    reason: t.string({ required: false, description: 'Recorded in the audit log.' }),
  }),
});

export const RenewLicenseInput = builder.inputType('RenewLicenseInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    expiresAt: t.field({ type: 'DateTime', required: true, description: 'The new expiry; must be in the future.' }),
  }),
});

export const ValidationCodeEnum = builder.enumType('ValidationCode', { values: Object.values(ValidationCode) });

export const ValidateLicenseInput = builder.inputType('ValidateLicenseInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    fingerprint: t.string({
      required: false,
      description: 'When given (1 to 256 characters), the machine must have been activated on this license.',
    }),
    entitlements: t.stringList({ required: false, description: 'Features the app needs; any one missing answers ENTITLEMENTS_MISSING.' }),
    nonce: t.string({
      required: false,
      description: 'Echoed inside the signed answer, so a replayed answer is detectable; 1 to 128 characters.',
    }),
  }),
});

export const LicenseValidationType = builder.objectRef<LicenseValidation>('LicenseValidation').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    code: t.expose('code', { type: ValidationCodeEnum }),
    license: t.field({ type: LicenseType, nullable: true, resolve: (v) => v.license }),
    missingEntitlements: t.exposeStringList('missingEntitlements'),
    meters: t.field({
      type: [MeterStateType],
      description: "The license's meters now; empty for a key this server never issued.",
      resolve: (v, _args, ctx) => (v.license ? meterStates(ctx.services, v.license) : []),
    }),
    signed: t.field({
      type: SignedLeaseType,
      nullable: true,
      description: 'The answer signed (typ license-validation+jwt, aud the license id); null for a key this server never issued.',
      resolve: (v) => v.signed,
    }),
  }),
});

export const CreateLicenseResult = builder.errorUnion('CreateLicenseResult', {
  types: [LicenseCreatedType, InvalidInput],
  resolveType: () => 'LicenseCreated',
});
export const UpdateLicenseResult = builder.errorUnion('UpdateLicenseResult', {
  types: [LicenseUpdatedType, InvalidInput, LicenseNotFound],
  resolveType: () => 'LicenseUpdated',
});
/** The result of suspending, reinstating, revoking or renewing: one union per mutation, of the same members. */
export const lifecycleResult = (name: string) =>
  builder.errorUnion(name, { types: [LicenseUpdatedType, InvalidInput, LicenseNotFound], resolveType: () => 'LicenseUpdated' });
