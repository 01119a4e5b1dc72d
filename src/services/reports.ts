/** The time ranges reports accept (API-key usage, webhook metrics): one rule, one message. */
import { InvalidInput } from './errors.ts';
import { DAY_MS } from '../lib/clock.ts';

/** A report covers at most this many days: `to` is at most 366 × 24 h after `from`. */
export const MAX_REPORT_DAYS = 366;

export function checkReportRange(from: Date, to: Date): InvalidInput | undefined {
  if (!(from.getTime() < to.getTime())) return new InvalidInput('from must be before to', 'from');
  if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * DAY_MS) {
    return new InvalidInput(`the range may cover at most ${MAX_REPORT_DAYS} days`, 'to');
  }
  return undefined;
}
