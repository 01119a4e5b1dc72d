/**
 * Seat utilization history: a scripted day of acquires, releases, denials and queue entries
 * (the services' clock set to each moment, not slept through) answers exactly the expected
 * points per minute, hour and day, for a license and for its organization; roll-ups keep the
 * peaks and take late minutes too, and each kind of point is dropped after its retention.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { seatUtilization as utilizationTable } from '../../src/db/schema.ts';
import { rollUpUtilization } from '../../src/services/utilization/rollUp.ts';
import { DAY, HOUR, MINUTE, movableClock } from '../support/clock.ts';
import { acquire, gql, release, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';

const clock = movableClock();
let app: App;
beforeAll(async () => {
  app = await startApp({}, { clock });
});
afterAll(() => app.close());
beforeEach(() => clock.reset());

const UTILIZATION = `query($licenseId: ID, $from: DateTime!, $to: DateTime!, $granularity: Granularity!) {
  seatUtilization(licenseId: $licenseId, from: $from, to: $to, granularity: $granularity) { at peakUsed max grants denials queued } }`;
const QUEUE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename ... on SeatQueued { ticket { id } } } }`;
const LEAVE = `mutation($input: LeaveQueueInput!) { leaveQueue(input: $input) { __typename } }`;

/** Midnight UTC two days ago: the scripted day, well inside every retention. */
const DAY_START = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
const at = (hours: number, minutes: number, seconds = 0) => DAY_START + hours * HOUR + minutes * MINUTE + seconds * 1000;
const iso = (ms: number) => new Date(ms).toISOString();

/** Runs a seat operation as if at `moment`; the clock is back to now for everything else. */
async function when<T>(moment: number, operation: () => Promise<T>): Promise<T> {
  clock.freeze(moment);
  try {
    return await operation();
  } finally {
    clock.reset();
  }
}

/** A roll-up round of this test's own: another instance's round (a suite with background jobs) is waited out. */
async function rollUp() {
  for (;;) {
    const round = await rollUpUtilization(app.services);
    if (round) return round;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function points(token: string, licenseId: string | null, granularity: string, from = DAY_START, to = DAY_START + DAY) {
  const r = await gql(app, UTILIZATION, { licenseId, from: iso(from), to: iso(to), granularity }, token);
  expect(r.errors).toBeUndefined();
  return r.data?.seatUtilization as { at: string; peakUsed: number; max: number; grants: number; denials: number; queued: number }[];
}

const point = (moment: number, figures: { peakUsed: number; max: number; grants?: number; denials?: number; queued?: number }) => ({
  at: iso(moment),
  grants: 0,
  denials: 0,
  queued: 0,
  ...figures,
});

describe('seatUtilization over a scripted day', () => {
  let org: Awaited<ReturnType<typeof seedOrganization>>;
  let license: { id: string; key: string };
  let small: { id: string; key: string };

  beforeAll(async () => {
    org = await seedOrganization(app);
    license = await createLicenseAs(app, org.token, { maxSeats: 3, queue: { enabled: true, maxLength: 5, claimSeconds: 60 } });
    small = await createLicenseAs(app, org.token, { maxSeats: 2 });
    const seat = async (moment: number, fingerprint: string, key = license.key) => {
      const granted = await when(moment, () => acquire(app, key, fingerprint));
      return granted.session?.id as string;
    };
    const free = (moment: number, sessionId: string, key = license.key) => when(moment, () => release(app, key, sessionId));

    // 09:00 — three seats, one denial, one client waits in line and leaves; the small license grants one.
    const a = await seat(at(9, 0, 5), 'a');
    const b = await seat(at(9, 0, 10), 'b');
    const c = await seat(at(9, 0, 15), 'c');
    expect(await seat(at(9, 0, 20), 'd')).toBeUndefined();
    const queued = await when(at(9, 0, 25), () => gql(app, QUEUE, { input: { licenseKey: license.key, fingerprint: 'e', queue: true } }));
    expect(queued.data?.acquireSeat.__typename).toBe('SeatQueued');
    await when(at(9, 0, 26), () => gql(app, LEAVE, { input: { licenseKey: license.key, ticketId: queued.data?.acquireSeat.ticket.id } }));
    const x = await seat(at(9, 0, 30), 'x', small.key);
    // 09:01 — a seat changes hands; the next client is refused.
    await free(at(9, 1, 0), a);
    const f = await seat(at(9, 1, 10), 'f');
    expect(await seat(at(9, 1, 20), 'g')).toBeUndefined();
    // 09:45 — two leave, one comes.
    await free(at(9, 45, 0), b);
    await free(at(9, 45, 10), c);
    const h = await seat(at(9, 45, 30), 'h');
    // 14:10 — full again, two refused; 14:20 everyone leaves.
    const i = await seat(at(14, 10, 0), 'i');
    expect(await seat(at(14, 10, 5), 'j')).toBeUndefined();
    expect(await seat(at(14, 10, 10), 'k')).toBeUndefined();
    for (const [n, sessionId] of [f, h, i].entries()) await free(at(14, 20, n), sessionId);
    await free(at(14, 20, 30), x, small.key);

    await app.services.utilization.flush();
    await rollUp();
  });

  it('answers each minute with activity: its peak live count, its grants, denials and queue entries', async () => {
    expect(await points(org.token, license.id, 'MINUTE')).toEqual([
      point(at(9, 0), { peakUsed: 3, max: 3, grants: 3, denials: 1, queued: 1 }),
      point(at(9, 1), { peakUsed: 3, max: 3, grants: 1, denials: 1 }),
      point(at(9, 45), { peakUsed: 2, max: 3, grants: 1 }),
      point(at(14, 10), { peakUsed: 3, max: 3, grants: 1, denials: 2 }),
      point(at(14, 20), { peakUsed: 2, max: 3 }),
    ]);
  });

  it('rolls the minutes up into hours and the hours into a day, keeping the peaks', async () => {
    expect(await points(org.token, license.id, 'HOUR')).toEqual([
      point(at(9, 0), { peakUsed: 3, max: 3, grants: 5, denials: 2, queued: 1 }),
      point(at(14, 0), { peakUsed: 3, max: 3, grants: 1, denials: 2 }),
    ]);
    expect(await points(org.token, license.id, 'DAY', DAY_START - DAY, DAY_START + 2 * DAY)).toEqual([
      point(DAY_START, { peakUsed: 3, max: 3, grants: 6, denials: 4, queued: 1 }),
    ]);
  });

  it("sums the organization's licenses per bucket when no license is named", async () => {
    expect(await points(org.token, null, 'MINUTE')).toEqual([
      point(at(9, 0), { peakUsed: 4, max: 5, grants: 4, denials: 1, queued: 1 }),
      point(at(9, 1), { peakUsed: 3, max: 3, grants: 1, denials: 1 }),
      point(at(9, 45), { peakUsed: 2, max: 3, grants: 1 }),
      point(at(14, 10), { peakUsed: 3, max: 3, grants: 1, denials: 2 }),
      point(at(14, 20), { peakUsed: 2, max: 5 }),
    ]);
    expect(await points(org.token, null, 'DAY')).toEqual([point(DAY_START, { peakUsed: 4, max: 5, grants: 7, denials: 4, queued: 1 })]);
  });

  it('answers only the buckets that start inside the range', async () => {
    expect((await points(org.token, license.id, 'MINUTE', at(9, 1), at(14, 10))).map((p) => p.at)).toEqual([iso(at(9, 1)), iso(at(9, 45))]);
  });

  it('takes activity that reaches Postgres after its hour was rolled up into the next roll-up', async () => {
    const late = await when(at(9, 59, 0), () => acquire(app, license.key, 'late'));
    expect(late.__typename).toBe('SeatGranted');
    await app.services.utilization.flush();
    await rollUp();
    expect((await points(org.token, license.id, 'HOUR'))[0]).toEqual(
      point(at(9, 0), { peakUsed: 3, max: 3, grants: 6, denials: 2, queued: 1 }),
    );
    expect((await points(org.token, license.id, 'DAY'))[0]).toMatchObject({ peakUsed: 3, grants: 7 });
    await release(app, license.key, late.session.id);
  });
});

describe('utilization retention', () => {
  it('drops minutes after 7 days and hours after 90 once rolled up, and days after 2 years', async () => {
    const org = await seedOrganization(app);
    const license = await createLicenseAs(app, org.token, { maxSeats: 5 });
    const now = Date.now();
    const ages = { week: now - 10 * DAY, quarter: now - 100 * DAY, years: now - 800 * DAY };
    for (const [name, moment] of Object.entries(ages)) {
      const granted = await when(moment, () => acquire(app, license.key, name));
      await when(moment + 1000, () => release(app, license.key, granted.session.id));
    }
    await app.services.utilization.flush();
    await rollUp();

    const kept = await app.services.db
      .select({ granularity: utilizationTable.granularity, at: utilizationTable.at })
      .from(utilizationTable)
      .where(and(eq(utilizationTable.licenseId, license.id)));
    const kinds = (moment: number) =>
      kept
        .filter((p) => p.at.getTime() <= moment && moment - p.at.getTime() < DAY)
        .map((p) => p.granularity)
        .sort();
    expect(kinds(ages.week)).toEqual(['DAY', 'HOUR']);
    expect(kinds(ages.quarter)).toEqual(['DAY']);
    expect(kinds(ages.years)).toEqual([]);
  });
});
