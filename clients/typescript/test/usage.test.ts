/** `lh.recordUsage` against the real server process: the meter's state, idempotent retries, METER_EXHAUSTED. */
import { Leasehold, LeaseholdError } from '@leasehold/client';
import { describe, expect, it } from 'vitest';
import { useLeasehold } from './support/server.ts';

const server = useLeasehold();

async function meteredLicense() {
  const { createLicense } = await server.admin(
    `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { ... on LicenseCreated { key license { id } } } }`,
    { input: { tier: 'pro', features: [], maxSeats: 1, meters: [{ name: 'exports', limit: 3, period: 'LIFETIME', overage: 1 }] } },
  );
  return new Leasehold({ url: server.url, licenseKey: createLicense.key });
}

describe('recordUsage', () => {
  it('answers the meter, counts a retried key once, and refuses past limit + overage with METER_EXHAUSTED and the meter', async () => {
    const lh = await meteredLicense();
    expect(await lh.recordUsage('exports', 2, 'job-1', { metadata: { file: 'a.pdf' } })).toEqual({
      name: 'exports',
      used: 2,
      limit: 3,
      remaining: 2,
      periodEndsAt: undefined,
    });
    expect(await lh.recordUsage('exports', 2, 'job-1')).toMatchObject({ used: 2 });
    expect(await lh.recordUsage('exports', 2, 'job-2')).toMatchObject({ used: 4, remaining: 0 });
    const refused = await lh.recordUsage('exports', 1, 'job-3').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LeaseholdError);
    expect(refused).toMatchObject({ code: 'METER_EXHAUSTED', retryable: false, meter: { name: 'exports', used: 4, remaining: 0 } });
    expect(await lh.recordUsage('other', 1, 'job-4').catch((error: LeaseholdError) => error.code)).toBe('NOT_FOUND');
  });
});
