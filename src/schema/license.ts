/** The License type, its connection, and the inputs that create and change licenses. */
import type { LicenseRow } from '../db/rows.ts';
import { seatCount } from '../services/seats/seats.ts';
import { ValidationCode, type LicenseValidation } from '../services/licenses/validation.ts';
import { SEAT_REFUSAL_RESULTS } from '../services/verifications/listing.ts';
import { machineCertificate } from '../services/seats/certificates.ts';
import { InvalidInput, LicenseNotFound } from '../services/errors.ts';
import { queuePolicyOf, type SeatQueuePolicy } from '../services/licenses/licenses.ts';
import { builder } from './builder.ts';
import { connectionType } from './connection.ts';
import { SeatCountType, SignedLeaseType } from './seat.ts';
import { MeterInput, MeterStateType } from './meter.ts';
import { meterStates } from '../services/meters/meters.ts';

export const LicenseStatusEnum = builder.enumType('LicenseStatus', { values: ['ACTIVE', 'SUSPENDED', 'REVOKED'] as const });

export const LeasingStrategyEnum = builder.enumType('LeasingStrategy', {
  description:
    'Who holds a seat: each machine (PER_MACHINE), each user however many machines they use (PER_USER, by userId), or each process of a machine (PER_PROCESS, by processId).',
  values: ['PER_MACHINE', 'PER_USER', 'PER_PROCESS'] as const,
});

export const OverageStrategyEnum = builder.enumType('OverageStrategy', {
  description:
    'How far past maxSeats a license grants seats: NONE, up to 1.25, 1.5 or 2 times maxSeats (rounded down), or ALWAYS. Seats past maxSeats are marked overage.',
  values: ['NONE', 'ALLOW_1_25X', 'ALLOW_1_5X', 'ALLOW_2X', 'ALWAYS'] as const,
});

export const SeatQueuePolicyType = builder.objectRef<SeatQueuePolicy>('SeatQueuePolicy').implement({
  description: 'Whether a full license lets clients wait in line (acquireSeat with queue: true), how many, and for how long.',
  fields: (t) => ({
    enabled: t.exposeBoolean('enabled'),
    maxLength: t.exposeInt('maxLength', { description: 'The most tickets waiting at once; past it acquires are refused as before.' }),
    claimSeconds: t.exposeInt('claimSeconds', {
      description: 'How long a ticket lives past its last heartbeat, and a seat set aside for it waits for its claim.',
    }),
  }),
});

export const SeatQueuePolicyInput = builder.inputType('SeatQueuePolicyInput', {
  fields: (t) => ({
    enabled: t.boolean({ required: true }),
    maxLength: t.int({ required: true, description: '1 to 100,000' }),
    claimSeconds: t.int({ required: true, description: '1 to 3,600' }),
  }),
});

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
    overage: t.expose('overage', { type: OverageStrategyEnum }),
    leasingStrategy: t.expose('leasingStrategy', { type: LeasingStrategyEnum }),
    maxProcessesPerMachine: t.exposeInt('maxProcessesPerMachine', { nullable: true }),
    maxBorrowDays: t.exposeInt('maxBorrowDays', { description: 'The longest borrowSeat may borrow a seat for, in days; 0 = no borrowing.' }),
    maxBorrowedSeats: t.exposeInt('maxBorrowedSeats', {
      nullable: true,
      description: 'The most seats borrowed at once (they count against maxSeats too); null = no bound beyond maxSeats.',
    }),
    maxDeactivationsPerMonth: t.exposeInt('maxDeactivationsPerMonth', {
      nullable: true,
      description: 'How many machines may be deactivated per calendar month (UTC); null = unlimited.',
    }),
    lingerSeconds: t.exposeInt('lingerSeconds'),
    queue: t.field({ type: SeatQueuePolicyType, resolve: queuePolicyOf }),
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
    maxMachines: t.int({ required: false, description: 'Distinct machines that may be activated at once (deactivateMachine frees one); null = unlimited.' }),
    leaseSeconds: t.int({ required: false, description: 'How long a lease lives without a heartbeat (default 360).' }),
    reviveSeconds: t.int({ required: false, description: 'How long after expiry a heartbeat may still revive its lease (default 0).' }),
    expiresAt: t.field({ type: 'DateTime', required: false }),
    metadata: t.field({ type: 'JSON', required: false }),
    overage: t.field({ type: OverageStrategyEnum, required: false, description: 'Seats granted past maxSeats (default NONE).' }),
    leasingStrategy: t.field({ type: LeasingStrategyEnum, required: false, description: 'Who holds a seat (default PER_MACHINE).' }),
    maxProcessesPerMachine: t.int({ required: false, description: 'Under PER_PROCESS, the live sessions one machine may hold; null = unlimited.' }),
    lingerSeconds: t.int({
      required: false,
      description: 'How long a released seat stays held for the same machine (user, process), which resumes it by acquiring (default 0).',
    }),
    queue: t.field({ type: SeatQueuePolicyInput, required: false, description: 'Default: disabled, 1,000 tickets, 60 s.' }),
    maxBorrowDays: t.int({ required: false, description: 'The longest a seat may be borrowed for offline use, 0 to 365 days (default 0: no borrowing).' }),
    maxBorrowedSeats: t.int({ required: false, description: 'The most seats borrowed at once; null = no bound beyond maxSeats.' }),
    maxDeactivationsPerMonth: t.int({
      required: false,
      description: 'How many machines deactivateMachine may free per calendar month (UTC); null = unlimited.',
    }),
    meters: t.field({ type: [MeterInput], required: false, description: 'Consumption meters that recordUsage takes from.' }),
  }),
});

export const UpdateLicenseInput = builder.inputType('UpdateLicenseInput', {
  description:
    'Fields left out stay as they are. `maxMachines: null`, `maxProcessesPerMachine: null`, `maxBorrowedSeats: null` and `maxDeactivationsPerMonth: null` mean unlimited; `expiresAt: null` means never.',
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
    overage: t.field({ type: OverageStrategyEnum, required: false }),
    leasingStrategy: t.field({
      type: LeasingStrategyEnum,
      required: false,
      description: 'Applies to new leases; live ones keep their holder (under PER_USER, a lease without a user is a seat of its own).',
    }),
    maxProcessesPerMachine: t.int({ required: false }),
    maxDeactivationsPerMonth: t.int({ required: false }),
    maxBorrowDays: t.int({ required: false }),
    maxBorrowedSeats: t.int({ required: false }),
    lingerSeconds: t.int({ required: false }),
    queue: t.field({ type: SeatQueuePolicyInput, required: false }),
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

export const ValidationCodeEnum = builder.enumType('ValidationCode', {
  description: "A validation's verdict; the verification log's results also take the codes a seat operation was refused with.",
  values: {
    ...Object.fromEntries(Object.values(ValidationCode).map((code) => [code, {}])),
    ...Object.fromEntries(
      SEAT_REFUSAL_RESULTS.map((code) => [code, { description: 'Only in the verification log: a seat operation refused with this code.' }]),
    ),
  } as Record<ValidationCode | (typeof SEAT_REFUSAL_RESULTS)[number], { description?: string }>,
});

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
