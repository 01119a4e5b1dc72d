/**
 * Redis losing one license (its `lh:{<licenseId>}:*` keys, as an eviction, a failover to an empty
 * replica or a flush would lose them): the seats are rebuilt from Postgres, which is the record,
 * and a session already ended there holds no seat after the rebuild.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { REDIS_URL, acquire, heartbeat, release, startApp } from '../support/harness.ts';
import { createLicenseAs } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let redis: Redis;
let owner: Awaited<ReturnType<typeof seedOrganization>>;
beforeAll(async () => {
  app = await startApp();
  redis = new Redis(REDIS_URL);
  owner = await seedOrganization(app);
});
afterAll(async () => {
  redis.disconnect();
  await app.close();
});

/** Deletes every key of one license from Redis, and only those. */
async function loseLicense(licenseId: string): Promise<void> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `lh:{${licenseId}}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  expect(keys.length).toBeGreaterThan(0);
  await redis.del(...keys);
}

describe('a license that Redis lost', () => {
  it('is rebuilt without the sessions released before the loss', async () => {
    const license = await createLicenseAs(app, owner.token, { maxSeats: 2 });
    const released = await acquire(app, license.key, 'left');
    const kept = await acquire(app, license.key, 'stayed');
    expect(await release(app, license.key, released.session.id)).toMatchObject({ __typename: 'SeatReleased', seats: { used: 1 } });

    await loseLicense(license.id);
    expect(await app.services.seats.count(license.id)).toBeUndefined();

    expect(await acquire(app, license.key, 'newcomer')).toMatchObject({ __typename: 'SeatGranted', seats: { used: 2, max: 2 } });
    expect(await acquire(app, license.key, 'one-too-many')).toMatchObject({ __typename: 'NoSeatsAvailable', seats: { used: 2 } });
    expect(await heartbeat(app, license.key, kept.session.id)).toMatchObject({ __typename: 'SeatRenewed' });
    expect(await heartbeat(app, license.key, released.session.id)).toMatchObject({ __typename: 'SessionExpired' });
    expect((await app.services.seats.count(license.id))?.used).toBe(2);
  });
});
