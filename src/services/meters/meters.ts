/**
 * Consumption meters: `recordUsage` from the licensed app (the license key is its only
 * credential), decided in one meter store call that also takes the license's rate-limit token;
 * the meters' state for the API; and loading a license's meters from Postgres when the store
 * does not hold them. Usage and its events reach Postgres in batches (usageLog.ts), never on
 * the request's path.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import { licenses, meterUsage } from '../../db/schema.ts';
import type { LicenseRow } from '../../db/rows.ts';
import type { MeterCount, MeterState, RecordOutcome, UsagePeriods } from '../../stores/meters/contract.ts';
import { LIFETIME_PERIOD } from '../../stores/meters/contract.ts';
import type { SeatCaller, ServiceContext } from '../context.ts';
import { databaseWork } from '../database.ts';
import {
  err,
  guarded,
  InvalidInput,
  licenseError,
  LicenseNotFound,
  MeterExhausted,
  MeterNotFound,
  ok,
  serviceUnavailable,
  type LicenseError,
  type Result,
} from '../errors.ts';
import { meterTerms, METER_LIMIT_MAX } from '../licenses/meterDefinitions.ts';
import { resolveLicenseKey } from '../licenses/licenses.ts';
import { rateLimitedError } from '../rateLimits.ts';
import { endOfPeriod, usagePeriods } from './periods.ts';

export const IDEMPOTENCY_KEY_MAX = 255;
const METER_NAME_MAX = 64;
const METADATA_MAX_BYTES = 4096;

export interface RecordUsageInput {
  licenseKey: string;
  meter: string;
  amount: number;
  idempotencyKey: string;
  metadata?: unknown;
}

export type UsageRecorded = { meter: MeterState };

function checkUsageInput(input: RecordUsageInput): InvalidInput | undefined {
  if (input.meter.length === 0 || input.meter.length > METER_NAME_MAX) {
    return new InvalidInput(`meter must be 1 to ${METER_NAME_MAX} characters`, 'meter');
  }
  if (!Number.isInteger(input.amount) || input.amount < 1 || input.amount > METER_LIMIT_MAX) {
    return new InvalidInput(`amount must be a whole number from 1 to ${METER_LIMIT_MAX}`, 'amount');
  }
  if (input.idempotencyKey.length === 0 || input.idempotencyKey.length > IDEMPOTENCY_KEY_MAX) {
    return new InvalidInput(`idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_MAX} characters`, 'idempotencyKey');
  }
  if (input.metadata != null && JSON.stringify(input.metadata).length > METADATA_MAX_BYTES) {
    return new InvalidInput(`metadata must be at most ${METADATA_MAX_BYTES} bytes of JSON`, 'metadata');
  }
  return undefined;
}

export const meterState = (count: MeterCount): MeterState => ({
  name: count.name,
  used: count.used,
  limit: count.limit,
  remaining: Math.max(0, count.limit + count.overage - count.used),
  periodEndsAt: endOfPeriod(count.period),
});

/** A meter's state as `meter.*` events carry it. */
const meterData = (count: MeterCount) => {
  const state = meterState(count);
  return { ...state, overage: count.overage, period: count.period, periodEndsAt: state.periodEndsAt?.toISOString() ?? null };
};

/** Loads in flight, per license: concurrent calls that find a license unloaded share one load. */
const loading = new WeakMap<ServiceContext, Map<string, Promise<void>>>();

/**
 * Puts a license's meters into the meter store: each meter's total in its current period and
 * the usages whose idempotency keys must still answer. What this instance has not yet written
 * is written first, so the totals include it.
 */
export function loadMeters(ctx: ServiceContext, licenseId: string, periods: UsagePeriods): Promise<void> {
  let inFlight = loading.get(ctx);
  if (!inFlight) loading.set(ctx, (inFlight = new Map()));
  const running = inFlight.get(licenseId);
  if (running) return running;
  const load = readAndLoad(ctx, licenseId, periods).finally(() => inFlight.delete(licenseId));
  inFlight.set(licenseId, load);
  return load;
}

async function readAndLoad(ctx: ServiceContext, licenseId: string, periods: UsagePeriods): Promise<void> {
  await guarded('The database', () => ctx.meterUsage.flush());
  const keyPeriods = [periods.day, periods.previousDay, periods.month, periods.previousMonth, LIFETIME_PERIOD];
  const { license, totals, remembered } = await databaseWork(async () => {
    const [license] = await ctx.db.select().from(licenses).where(eq(licenses.id, licenseId));
    const of = and(eq(meterUsage.licenseId, licenseId), inArray(meterUsage.period, keyPeriods));
    const totals = await ctx.db
      .select({ name: meterUsage.meter, period: meterUsage.period, used: sql<number>`sum(${meterUsage.amount})::int` })
      .from(meterUsage)
      .where(of)
      .groupBy(meterUsage.meter, meterUsage.period);
    const remembered = await ctx.db
      .select({ meter: meterUsage.meter, period: meterUsage.period, idempotencyKey: meterUsage.idempotencyKey, used: meterUsage.used })
      .from(meterUsage)
      .where(of);
    return { license, totals, remembered };
  });
  if (!license) throw new Error(`license ${licenseId} vanished while loading`);
  await guarded('The meter store', () => ctx.meters.load(licenseId, meterTerms(license), periods, totals, remembered));
}

/** Runs a meter store call, loading the license's meters first when the store does not hold them. */
async function withLoadedMeters<T extends RecordOutcome | MeterCount[] | undefined>(
  ctx: ServiceContext,
  licenseId: string,
  periods: UsagePeriods,
  call: () => Promise<T>,
): Promise<Exclude<T, { kind: 'unloaded' } | undefined>> {
  const loaded = (outcome: T) => outcome !== undefined && !(!Array.isArray(outcome) && outcome.kind === 'unloaded');
  let outcome = await guarded('The meter store', call);
  if (!loaded(outcome)) {
    await loadMeters(ctx, licenseId, periods);
    outcome = await guarded('The meter store', call);
    if (!loaded(outcome)) throw serviceUnavailable('The meter store', new Error('license did not stay loaded'));
  }
  return outcome as Exclude<T, { kind: 'unloaded' } | undefined>;
}

export async function recordUsage(
  ctx: ServiceContext,
  input: RecordUsageInput,
  caller: SeatCaller,
): Promise<Result<UsageRecorded, InvalidInput | LicenseError | MeterExhausted | MeterNotFound>> {
  const invalid = checkUsageInput(input);
  if (invalid) return err(invalid);
  const license = await resolveLicenseKey(ctx, input.licenseKey);
  if (!license) return err(new LicenseNotFound());
  const nowMs = ctx.clock.now();
  const periods = usagePeriods(nowMs);
  const usage = { meter: input.meter, amount: input.amount, idempotencyKey: input.idempotencyKey };
  const outcome = await withLoadedMeters(ctx, license.licenseId, periods, () =>
    ctx.meters.record(license.licenseId, usage, periods, caller.rateLimit?.spec),
  );
  if (outcome.rate) caller.rateLimit?.taken(outcome.rate);
  if (outcome.kind === 'rate-limited') throw rateLimitedError(outcome.rate);
  if (outcome.kind === 'refused') return err(licenseError(outcome.reason));
  if (outcome.kind === 'unknown-meter') return err(new MeterNotFound());

  const subject = { license: { id: license.licenseId }, meter: meterData(outcome.count) };
  if (outcome.kind === 'exhausted') {
    if (outcome.firstInPeriod) ctx.meterUsage.announce(license.orgId, 'meter.exhausted', { ...subject, amount: input.amount });
    return err(new MeterExhausted(meterState(outcome.count)));
  }
  if (!outcome.replay) {
    ctx.meterUsage.record({
      orgId: license.orgId,
      licenseId: license.licenseId,
      meter: input.meter,
      period: outcome.count.period,
      amount: input.amount,
      used: outcome.count.used,
      idempotencyKey: input.idempotencyKey,
      metadata: input.metadata ?? null,
      recordedAt: new Date(nowMs),
    });
    for (const threshold of outcome.thresholds) ctx.meterUsage.announce(license.orgId, 'meter.threshold', { ...subject, threshold });
  }
  return ok({ meter: meterState(outcome.count) });
}

/** A license's meters now, in the order the license defines them. */
export async function meterStates(ctx: ServiceContext, license: LicenseRow): Promise<MeterState[]> {
  if (license.meters.length === 0) return [];
  const periods = usagePeriods(ctx.clock.now());
  const counts = await withLoadedMeters(ctx, license.id, periods, () => ctx.meters.read(license.id, periods));
  return license.meters.flatMap((m) => {
    const count = counts.find((c) => c.name === m.name);
    return count ? [meterState(count)] : [];
  });
}
