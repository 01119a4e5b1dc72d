/**
 * The meter store contract: each license's consumption meters, decided atomically. Redis keeps
 * it with lua/record_usage.lua (its keys share the license's hash tag), the in-process store
 * of the embedded mode in memory; one test suite runs against both.
 *
 * The store knows no calendar: the caller names the current UTC periods (`UsagePeriods`), so
 * the services' clock decides when a day or a month ends. A meter's count belongs to the
 * period it was counted in and starts again at 0 in a newer one; a caller whose clock lags
 * behind a newer period already seen counts into that newer period.
 *
 * An idempotency key is remembered with its first answer in its period and the next one, so
 * the same key again answers that first answer and counts nothing, for at least a whole
 * period (lifetime meters remember their keys for good).
 */
import type { MeterDefinition } from '../../db/schema.ts';
import type { BucketSpec, TakeResult } from '../rateLimits/contract.ts';
import type { LicenseRefusal, LicenseStatus, RateLimited } from '../seats/contract.ts';

/** The thresholds (% of the limit) that are announced once per period. */
export const METER_THRESHOLDS = [80, 90, 100] as const;

/** The periods of now and the one before, by the services' clock, with how long each period's keys must live. */
export interface UsagePeriods {
  /** `D2026-12-01` */
  day: string;
  previousDay: string;
  /** `M2026-12` */
  month: string;
  previousMonth: string;
  /** ms from now until the end of the day after this one (a key of today must answer all of tomorrow) */
  dayKeysTtlMs: number;
  monthKeysTtlMs: number;
}

export const LIFETIME_PERIOD = 'L';

/** What the meter path needs to know about a license; Postgres is its source. */
export interface MeterTerms {
  status: LicenseStatus;
  /** null = never expires */
  expiresAtMs: number | null;
  meters: MeterDefinition[];
}

/** A meter as the API shows it: its count in the current period and how much more it takes. */
export interface MeterState {
  name: string;
  used: number;
  limit: number;
  /** How much more the meter takes in this period: limit + overage - used, at least 0. */
  remaining: number;
  /** null for a lifetime meter. */
  periodEndsAt: Date | null;
}

/** A meter's count as the store answers it. */
export interface MeterCount {
  name: string;
  used: number;
  limit: number;
  overage: number;
  /** The period the count belongs to (`D…`, `M…`, `L`). */
  period: string;
}

export interface UsageRequest {
  meter: string;
  amount: number;
  idempotencyKey: string;
}

type Rated = { rate?: TakeResult };

export type RecordOutcome =
  | { kind: 'unloaded' }
  | RateLimited
  | ((
      | { kind: 'refused'; reason: LicenseRefusal }
      | { kind: 'unknown-meter' }
      /** `replay`: the idempotency key was seen before and this is its first answer again. */
      | { kind: 'recorded'; replay: boolean; count: MeterCount; thresholds: number[] }
      /** `firstInPeriod`: the first refusal of the meter in its period (announced once). */
      | { kind: 'exhausted'; replay: boolean; count: MeterCount; firstInPeriod: boolean }
    ) &
      Rated);

/** A meter's total in one period, as Postgres sums it. */
export interface MeterTotal {
  name: string;
  period: string;
  used: number;
}

/** A usage the store must remember when it is rebuilt: its key and the total it answered. */
export interface RememberedUsage {
  meter: string;
  period: string;
  idempotencyKey: string;
  used: number;
}

export interface MeterStore {
  /**
   * Takes `amount` from the meter, or refuses past `limit + overage`. Given a bucket spec, a
   * loaded license takes its rate-limit token first (the seat path's bucket), and without one
   * left nothing changes.
   */
  record(licenseId: string, usage: UsageRequest, periods: UsagePeriods, rate?: BucketSpec): Promise<RecordOutcome>;
  /** Every meter's count in its current period; undefined when the license is not loaded. */
  read(licenseId: string, periods: UsagePeriods): Promise<MeterCount[] | undefined>;
  /**
   * Loads a license's meters from the record (first use, or after Redis lost them): each
   * meter's total in its current period and the usages whose keys must still answer.
   * A no-op when the license is already loaded.
   */
  load(licenseId: string, terms: MeterTerms, periods: UsagePeriods, totals: MeterTotal[], remembered: RememberedUsage[]): Promise<void>;
  /** Applies changed terms to a loaded license (counts stay); a no-op when it is not loaded. */
  configure(licenseId: string, terms: MeterTerms): Promise<void>;
}

/** The period a meter of this kind counts in now. */
export function currentPeriod(period: MeterDefinition['period'], periods: UsagePeriods): string {
  return period === 'DAY' ? periods.day : period === 'MONTH' ? periods.month : LIFETIME_PERIOD;
}

/** The thresholds a count crosses when it grows past `fired` (the highest announced so far). */
export function crossedThresholds(used: number, limit: number, fired: number): number[] {
  return METER_THRESHOLDS.filter((t) => t > fired && used * 100 >= t * limit);
}
