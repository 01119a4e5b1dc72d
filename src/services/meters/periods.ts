/**
 * The UTC periods meters count in, by the services' clock: a DAY meter starts again at 0 at
 * midnight UTC, a MONTH meter on the first of the month. Names sort in time within a kind
 * (`D2026-12-01`, `M2026-12`); a LIFETIME meter has the one period `L`.
 */
import { LIFETIME_PERIOD, type UsagePeriods } from '../../stores/meters/contract.ts';

const dayName = (d: Date) => `D${d.toISOString().slice(0, 10)}`;
const monthName = (d: Date) => `M${d.toISOString().slice(0, 7)}`;

export function usagePeriods(nowMs: number): UsagePeriods {
  const now = new Date(nowMs);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  return {
    day: dayName(now),
    previousDay: dayName(new Date(Date.UTC(y, m, d - 1))),
    month: monthName(now),
    previousMonth: monthName(new Date(Date.UTC(y, m - 1, 1))),
    // A key must answer for a whole period after it was used: to the end of the next period.
    dayKeysTtlMs: Date.UTC(y, m, d + 2) - nowMs,
    monthKeysTtlMs: Date.UTC(y, m + 2, 1) - nowMs,
  };
}

/** When a period (by its name) ends; null for the lifetime period. */
export function endOfPeriod(period: string): Date | null {
  if (period === LIFETIME_PERIOD) return null;
  const [y, m, d] = period.slice(1).split('-').map(Number);
  return period[0] === 'D' ? new Date(Date.UTC(y!, m! - 1, d! + 1)) : new Date(Date.UTC(y!, m!, 1));
}
