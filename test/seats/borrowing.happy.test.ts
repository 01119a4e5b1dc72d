/** Borrowing through the API: a seat lent for days, verifiable offline, announced, given back, and kept across a Redis rebuild. */
import { and, eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { webhookEvents } from '../../src/db/schema.ts';
import { REDIS_URL, acquire, admin, createLicense, gql, heartbeat, startApp } from '../support/harness.ts';

const DAY = 86_400_000;
let app: App;
let jwks: JWTVerifyGetKey;
const redis = new Redis(REDIS_URL);
beforeAll(async () => {
  app = await startApp();
  jwks = createLocalJWKSet(await (await app.yoga.fetch('http://leasehold.test/.well-known/jwks.json')).json());
});
afterAll(async () => {
  redis.disconnect();
  await app.close();
});

const BORROW = `mutation($input: BorrowSeatInput!) { borrowSeat(input: $input) {
  __typename
  ... on SeatBorrowed { session { id fingerprint expiresAt borrowedUntil } lease { token expiresAt } seats { used max } }
  ... on Error { code message } } }`;
const RETURN = `mutation($input: ReturnSeatInput!) { returnSeat(input: $input) {
  __typename ... on SeatReleased { session { endReason borrowedUntil } seats { used } } ... on Error { code } } }`;

const borrow = async (licenseKey: string, fingerprint: string, days: number) =>
  (await gql(app, BORROW, { input: { licenseKey, fingerprint, days } })).data?.borrowSeat;
const eventsOf = (type: string, sessionId: string) =>
  app.services.db
    .select()
    .from(webhookEvents)
    .where(and(eq(webhookEvents.type, type), sql`${webhookEvents.data}->'session'->>'id' = ${sessionId}`));

describe('borrowing', () => {
  it('lends a seat for the days asked: a lease that verifies offline, lasts the borrow, and needs no heartbeat', async () => {
    const license = await createLicense(app, { maxSeats: 2, maxBorrowDays: 14 });
    const before = Date.now();
    const lent = await borrow(license.key, 'field-laptop', 10);
    expect(lent).toMatchObject({ __typename: 'SeatBorrowed', session: { fingerprint: 'field-laptop' }, seats: { used: 1, max: 2 } });
    const until = Date.parse(lent.session.borrowedUntil);
    expect(until).toBeGreaterThanOrEqual(before + 10 * DAY - 1000);
    expect(lent.session.expiresAt).toBe(lent.session.borrowedUntil);

    const { payload } = await jwtVerify(lent.lease.token, jwks, { typ: 'lease+jwt', audience: license.id });
    expect(payload).toMatchObject({ sub: lent.session.id, fp: 'field-laptop', borrowed: true });
    expect(payload.exp).toBe(Math.floor(until / 1000));

    const renewed = await heartbeat(app, license.key, lent.session.id);
    expect(Date.parse(renewed.session.expiresAt)).toBe(until);
    // A heartbeat's lease of a borrowed seat still says it is borrowed, offline too.
    const { payload: renewedLease } = await jwtVerify(renewed.lease.token, jwks, { typ: 'lease+jwt', audience: license.id });
    expect(renewedLease).toMatchObject({ sub: lent.session.id, borrowed: true, exp: Math.floor(until / 1000) });
    const [announced] = await eventsOf('seat.borrowed', lent.session.id);
    expect(announced?.data).toMatchObject({ session: { id: lent.session.id, borrowedUntil: lent.session.borrowedUntil }, seats: { used: 1 } });
    const read = await admin(app, `query($id: ID!) { license(id: $id) { maxBorrowDays maxBorrowedSeats } }`, { id: license.id });
    expect(read.data?.license).toEqual({ maxBorrowDays: 14, maxBorrowedSeats: null });
  });

  it('gives a borrowed seat back at once with returnSeat, announced as seat.returned', async () => {
    const license = await createLicense(app, { maxSeats: 1, maxBorrowDays: 7, lingerSeconds: 600 });
    const lent = await borrow(license.key, 'away', 3);
    expect((await acquire(app, license.key, 'other')).code).toBe('NO_SEATS_AVAILABLE');
    const returned = (await gql(app, RETURN, { input: { licenseKey: license.key, sessionId: lent.session.id } })).data?.returnSeat;
    expect(returned).toMatchObject({ __typename: 'SeatReleased', session: { endReason: 'RELEASED' }, seats: { used: 0 } });
    expect(await eventsOf('seat.returned', lent.session.id)).toHaveLength(1);
    expect(await eventsOf('seat.released', lent.session.id)).toHaveLength(0);
    // A returned seat does not linger for its machine, as a released one would.
    expect((await acquire(app, license.key, 'other')).__typename).toBe('SeatGranted');
  });

  it('refuses a borrow the license does not allow, and bad days, with a typed error and no seat held', async () => {
    const none = await createLicense(app, { maxSeats: 1 });
    expect(await borrow(none.key, 'a', 1)).toMatchObject({ __typename: 'BorrowNotAllowed', code: 'BORROW_NOT_ALLOWED' });
    const short = await createLicense(app, { maxSeats: 1, maxBorrowDays: 3 });
    expect(await borrow(short.key, 'a', 4)).toMatchObject({ code: 'BORROW_NOT_ALLOWED', message: expect.stringMatching(/at most 3 days/) });
    for (const days of [0, -1, 366]) {
      const answer = await gql(app, BORROW, { input: { licenseKey: short.key, fingerprint: 'a', days } });
      expect(JSON.stringify(answer)).toMatch(/days/);
      expect(answer.errors?.[0]?.extensions?.code ?? answer.data?.borrowSeat.code).toMatch(/BAD_USER_INPUT|INVALID_INPUT/);
    }
    expect((await acquire(app, short.key, 'b')).__typename).toBe('SeatGranted');
    expect(await borrow('lhk_nosuchkey', 'a', 1)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('keeps borrows counted when Redis loses the license and it is rebuilt from Postgres', async () => {
    const license = await createLicense(app, { maxSeats: 3, maxBorrowDays: 7, maxBorrowedSeats: 1 });
    const lent = await borrow(license.key, 'borrower', 5);
    await redis.del(...(await redis.keys(`lh:{${license.id}}:*`)));
    expect(await borrow(license.key, 'second', 1)).toMatchObject({ code: 'BORROW_NOT_ALLOWED', message: expect.stringMatching(/All 1 seats/) });
    const renewed = await heartbeat(app, license.key, lent.session.id);
    expect(renewed.session.expiresAt).toBe(lent.session.borrowedUntil);
    const count = await admin(app, `query($id: ID!) { license(id: $id) { seats { used borrowed queued overage } } }`, { id: license.id });
    expect(count.data?.license.seats).toEqual({ used: 1, borrowed: 1, queued: 0, overage: 0 });
  });
});

describe('the policy fields of borrowing and deactivation', () => {
  it.each([
    ['maxBorrowDays', -1],
    ['maxBorrowDays', 366],
    ['maxBorrowedSeats', -1],
    ['maxDeactivationsPerMonth', -1],
    ['maxDeactivationsPerMonth', 2_000_000],
  ])('refuses %s = %i as invalid input naming the field, creating nothing', async (field, value) => {
    const answer = await admin(
      app,
      `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { __typename ... on InvalidInput { code field } } }`,
      { input: { tier: 'pro', features: [], maxSeats: 1, [field]: value } },
    );
    expect(answer.data?.createLicense).toEqual({ __typename: 'InvalidInput', code: 'INVALID_INPUT', field });
  });
});
