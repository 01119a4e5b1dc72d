/**
 * The meters a license defines (`meters: [{ name, limit, period, overage }]`): what is a valid
 * set of them, and the terms the meter store decides with.
 */
import type { LicenseRow } from '../../db/rows.ts';
import type { MeterDefinition } from '../../db/schema.ts';
import type { MeterTerms } from '../../stores/meters/contract.ts';
import { InvalidInput } from '../errors.ts';

export const METERS_MAX = 20;
/** Room below GraphQL's 32-bit Int for a count of limit + overage. */
export const METER_LIMIT_MAX = 1_000_000_000;
/** Names go into Redis fields after a newline-free prefix: letters, digits and `_.:-`. */
const METER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export interface MeterInput {
  name: string;
  limit: number;
  period: MeterDefinition['period'];
  overage?: number | null;
}

export function checkMeters(meters: MeterInput[]): InvalidInput | MeterDefinition[] {
  if (meters.length > METERS_MAX) return new InvalidInput(`at most ${METERS_MAX} meters`, 'meters');
  const names = new Set<string>();
  const definitions: MeterDefinition[] = [];
  for (const m of meters) {
    if (!METER_NAME.test(m.name)) {
      return new InvalidInput('a meter name is 1 to 64 letters, digits or _.:- and starts with a letter or digit', 'meters');
    }
    if (names.has(m.name)) return new InvalidInput(`the meter ${m.name} is defined twice`, 'meters');
    names.add(m.name);
    const overage = m.overage ?? 0;
    if (!Number.isInteger(m.limit) || m.limit < 1 || m.limit > METER_LIMIT_MAX) {
      return new InvalidInput(`a meter's limit is between 1 and ${METER_LIMIT_MAX}`, 'meters');
    }
    if (!Number.isInteger(overage) || overage < 0 || overage > METER_LIMIT_MAX) {
      return new InvalidInput(`a meter's overage is between 0 and ${METER_LIMIT_MAX}`, 'meters');
    }
    definitions.push({ name: m.name, limit: m.limit, period: m.period, overage });
  }
  return definitions;
}

export function meterTerms(license: LicenseRow): MeterTerms {
  return { status: license.status, expiresAtMs: license.expiresAt?.getTime() ?? null, meters: license.meters };
}
