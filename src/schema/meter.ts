/** Types of consumption meters: a license's meter definitions and states, and `recordUsage`. */
import type { MeterState } from '../stores/meters/contract.ts';
import type { UsageRecorded } from '../services/meters/meters.ts';
import { MeterExhausted, MeterNotFound } from '../services/errors.ts';
import { builder } from './builder.ts';
import { ErrorInterface, LICENSE_ERRORS } from './errors.ts';

export const MeterPeriodEnum = builder.enumType('MeterPeriod', {
  description: 'When a meter starts again at 0: at midnight UTC, on the first of the month (UTC), or never.',
  values: ['DAY', 'MONTH', 'LIFETIME'] as const,
});

export const MeterInput = builder.inputType('MeterInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 64 letters, digits or _.:-, unique on the license.' }),
    limit: t.int({ required: true, description: 'What the meter takes per period, 1 or more; crossing 80, 90 and 100 % of it is announced.' }),
    period: t.field({ type: MeterPeriodEnum, required: true }),
    overage: t.int({ required: false, description: 'How far past the limit usage is still taken (default 0).' }),
  }),
});

export const MeterStateType = builder.objectRef<MeterState>('MeterState').implement({
  description: "A meter's count in its current period.",
  fields: (t) => ({
    name: t.exposeString('name'),
    used: t.exposeInt('used'),
    limit: t.exposeInt('limit'),
    remaining: t.exposeInt('remaining', { description: 'How much more this period takes: limit + overage - used.' }),
    periodEndsAt: t.expose('periodEndsAt', { type: 'DateTime', nullable: true, description: 'null for a LIFETIME meter.' }),
  }),
});

export const RecordUsageInput = builder.inputType('RecordUsageInput', {
  fields: (t) => ({
    licenseKey: t.string({ required: true }),
    meter: t.string({ required: true }),
    amount: t.int({ required: true, description: 'A whole number, 1 or more.' }),
    idempotencyKey: t.string({
      required: true,
      description: 'The same key again (for at least the meter’s period) answers the first answer and counts once; 1 to 255 characters.',
    }),
    metadata: t.field({ type: 'JSON', required: false, description: 'Kept with the usage in Postgres; at most 4 kB.' }),
  }),
});

export const UsageRecordedType = builder.objectRef<UsageRecorded>('UsageRecorded').implement({
  fields: (t) => ({ meter: t.field({ type: MeterStateType, resolve: (r) => r.meter }) }),
});

builder.objectType(MeterExhausted, {
  name: 'MeterExhausted',
  interfaces: [ErrorInterface],
  description: 'The amount would take the meter past limit + overage in this period; nothing was counted.',
  fields: (t) => ({ meter: t.field({ type: MeterStateType, resolve: (e) => e.meter }) }),
});

builder.objectType(MeterNotFound, { name: 'MeterNotFound', interfaces: [ErrorInterface] });

export const RecordUsageResult = builder.errorUnion('RecordUsageResult', {
  types: [UsageRecordedType, MeterExhausted, MeterNotFound, ...LICENSE_ERRORS],
  resolveType: () => 'UsageRecorded',
});
