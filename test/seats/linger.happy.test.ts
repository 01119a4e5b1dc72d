/** Linger through the API: a released seat stays its holder's for lingerSeconds, also across a Redis rebuild. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { ADMIN_TOKEN, REDIS_URL, acquire, admin, createLicense, gql, release, startApp } from '../support/harness.ts';

let app: App;
const redis = new Redis(REDIS_URL);
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  redis.disconnect();
  await app.close();
});

/** Forgets one license's seat state in Redis, as a flush would, without touching other suites' keys. */
async function forget(licenseId: string) {
  const keys = await redis.keys(`lh:{${licenseId}}:*`);
  if (keys.length > 0) await redis.del(...keys);
}

describe('linger', () => {
  it('holds a released seat for the same machine only, which resumes it, and shows lingerSeconds on the license', async () => {
    const license = await createLicense(app, { maxSeats: 1, lingerSeconds: 60 });
    expect((await admin(app, `query($id: ID!) { license(id: $id) { lingerSeconds } }`, { id: license.id })).data?.license).toEqual({
      lingerSeconds: 60,
    });
    const first = await acquire(app, license.key, 'mine');
    const released = await release(app, license.key, first.session.id);
    expect(released).toMatchObject({ session: { endReason: 'RELEASED' }, seats: { used: 1, max: 1 } });
    expect(await acquire(app, license.key, 'other')).toMatchObject({ __typename: 'NoSeatsAvailable', seats: { used: 1 } });
    const resumed = await acquire(app, license.key, 'mine');
    expect(resumed).toMatchObject({ __typename: 'SeatGranted', seats: { used: 1 } });
    expect(resumed.session.id).not.toBe(first.session.id);
  });

  it('gives 5 lingering seats back to their 5 machines only, among 300 concurrent acquires', async () => {
    const license = await createLicense(app, { maxSeats: 5, lingerSeconds: 60 });
    for (let i = 0; i < 5; i++) await release(app, license.key, (await acquire(app, license.key, `owner-${i}`)).session.id);
    const fingerprints = Array.from({ length: 300 }, (_, i) => (i % 60 === 0 ? `owner-${i / 60}` : `stranger-${i}`));
    const results = await Promise.all(fingerprints.map((fp) => acquire(app, license.key, fp)));
    const winners = fingerprints.filter((_, i) => results[i].__typename === 'SeatGranted');
    expect(winners.sort()).toEqual(['owner-0', 'owner-1', 'owner-2', 'owner-3', 'owner-4']);
  }, 60_000);

  it('frees the seat at once when an operator revokes the session', async () => {
    const license = await createLicense(app, { maxSeats: 1, lingerSeconds: 60 });
    const held = await acquire(app, license.key, 'mine');
    await gql(app, `mutation($id: ID!) { revokeSession(input: { id: $id }) { __typename } }`, { id: held.session.id }, ADMIN_TOKEN);
    expect(await acquire(app, license.key, 'other')).toMatchObject({ __typename: 'SeatGranted', seats: { used: 1 } });
  });

  it('keeps lingering seats when Redis loses the license and it is rebuilt from Postgres', async () => {
    const license = await createLicense(app, { maxSeats: 2, lingerSeconds: 60 });
    await release(app, license.key, (await acquire(app, license.key, 'gone')).session.id);
    await acquire(app, license.key, 'open');
    await forget(license.id);
    expect(await acquire(app, license.key, 'stranger')).toMatchObject({ __typename: 'NoSeatsAvailable', seats: { used: 2 } });
    expect(await acquire(app, license.key, 'gone')).toMatchObject({ __typename: 'SeatGranted', seats: { used: 2 } });
  });
});
