/** Borrows race acquires: maxBorrowedSeats and maxSeats hold exactly, through the API on real Redis and Postgres. */
import { and, count, eq, isNotNull, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { seatSessions } from '../../src/db/schema.ts';
import { acquire, createLicense, gql, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

describe('borrowing under races', () => {
  it('lends exactly maxBorrowedSeats of 300 concurrent borrows and grants the rest of maxSeats to 300 acquires beside them', async () => {
    const license = await createLicense(app, { maxSeats: 20, maxBorrowDays: 30, maxBorrowedSeats: 5 });
    const calls = Array.from({ length: 600 }, (_, i) =>
      i % 2 === 0
        ? gql(app, `mutation($input: BorrowSeatInput!) { borrowSeat(input: $input) { __typename } }`, {
            input: { licenseKey: license.key, fingerprint: `borrower-${i}`, days: 7 },
          }).then((r) => r.data?.borrowSeat.__typename as string)
        : acquire(app, license.key, `desk-${i}`).then((r) => r.__typename as string),
    );
    const answers = await Promise.all(calls);
    const borrowed = answers.filter((a) => a === 'SeatBorrowed').length;
    const granted = answers.filter((a) => a === 'SeatGranted').length;
    expect(borrowed).toBeLessThanOrEqual(5);
    expect(borrowed + granted).toBe(20);
    expect(answers.filter((a) => a === 'BorrowNotAllowed' || a === 'NoSeatsAvailable')).toHaveLength(580);

    const open = (borrowedOnly: boolean) =>
      app.services.db
        .select({ n: count() })
        .from(seatSessions)
        .where(and(eq(seatSessions.licenseId, license.id), isNull(seatSessions.endedAt), borrowedOnly ? isNotNull(seatSessions.borrowedUntil) : undefined));
    expect((await open(true))[0]!.n).toBe(borrowed);
    expect((await open(false))[0]!.n).toBe(20);
  }, 90_000);
});
