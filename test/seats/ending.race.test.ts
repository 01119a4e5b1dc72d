/**
 * A session ends once, however many callers end it at the same moment: two releases from the
 * app, or its release racing an operator's revokeSession. Exactly one end is recorded, with one
 * audit row and one event, and every caller is told the same end.
 *
 * Left to timing, the first caller has nearly always committed before the second reads the
 * session, so each race also runs once with its worst interleaving forced: the test holds the
 * session's row locked until both callers wait on it, having both found it open.
 */
import { and, eq, inArray } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs, seatSessions, webhookEvents } from '../../src/db/schema.ts';
import { DATABASE_URL, acquire, gql, release, startApp } from '../support/harness.ts';
import { untilQueued } from '../support/locks.ts';
import { createLicenseAs } from '../support/webhooks.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let owner: Awaited<ReturnType<typeof seedOrganization>>;
let locker: postgres.Sql;
beforeAll(async () => {
  app = await startApp();
  owner = await seedOrganization(app);
  locker = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await locker.end();
  await app.close();
});

const SESSIONS = 20;
const END_ACTIONS = ['seat.released', 'seat.revoked', 'seat.expired'];

const REVOKE = `mutation($id: ID!) { revokeSession(input: { id: $id }) {
  __typename ... on SessionRevoked { session { id endedAt endReason } } ... on Error { code message } } }`;

async function openSessions(count: number) {
  const license = await createLicenseAs(app, owner.token, { maxSeats: count });
  const granted = await Promise.all(Array.from({ length: count }, (_, i) => acquire(app, license.key, `machine-${i}`)));
  expect(granted.every((g) => g.__typename === 'SeatGranted')).toBe(true);
  return { license, sessionIds: granted.map((g) => g.session.id as string) };
}

/**
 * Runs `race` while the session's row is locked, and lets go once `waiters` statements of the
 * race wait for it: each of them then finds the session open and must still end it only once.
 */
async function withRowHeld<T>(sessionId: string, waiters: number, race: () => Promise<T>): Promise<T> {
  let raced: Promise<T> | undefined;
  await locker.begin(async (tx) => {
    await tx`select id from seat_sessions where id = ${sessionId} for update`;
    raced = race();
    await untilQueued(tx, waiters);
  });
  return raced!;
}

/** Per session: its row, and the end actions of its audit rows and its events. */
async function recordedEnds(sessionIds: string[]) {
  const db = app.services.db;
  const rows = await db.select().from(seatSessions).where(inArray(seatSessions.id, sessionIds));
  const audits = await db
    .select({ resourceId: auditLogs.resourceId, action: auditLogs.action })
    .from(auditLogs)
    .where(and(inArray(auditLogs.resourceId, sessionIds), inArray(auditLogs.action, END_ACTIONS)));
  const events = await db
    .select({ type: webhookEvents.type, data: webhookEvents.data })
    .from(webhookEvents)
    .where(and(eq(webhookEvents.orgId, owner.orgId), inArray(webhookEvents.type, END_ACTIONS)));
  return sessionIds.map((id) => ({
    row: rows.find((r) => r.id === id)!,
    audits: audits.filter((a) => a.resourceId === id).map((a) => a.action),
    events: events.filter((e) => (e.data as { session?: { id?: string } }).session?.id === id).map((e) => e.type),
  }));
}

describe('ending a session from two sides at once', () => {
  it('two concurrent releases end it once: one audit row, one event, the same answer to both', async () => {
    const { license, sessionIds } = await openSessions(SESSIONS);
    const bothRelease = (id: string) => Promise.all([release(app, license.key, id), release(app, license.key, id)]);
    const [forced, ...free] = sessionIds;
    const answers = await Promise.all([withRowHeld(forced!, 2, () => bothRelease(forced!)), ...free.map(bothRelease)]);

    const ends = await recordedEnds(sessionIds);
    ends.forEach(({ row, audits, events }, i) => {
      expect(row, row.id).toMatchObject({ endReason: 'RELEASED' });
      expect(audits, row.id).toEqual(['seat.released']);
      expect(events, row.id).toEqual(['seat.released']);
      for (const answer of answers[i]!) {
        expect(answer, row.id).toMatchObject({
          __typename: 'SeatReleased',
          session: { id: row.id, endReason: 'RELEASED', endedAt: row.endedAt!.toISOString() },
        });
      }
    });
    expect((await app.services.seats.count(license.id))?.used).toBe(0);
  });

  it('a release racing revokeSession ends it once, as whichever came first, and both callers are told that end', async () => {
    const { license, sessionIds } = await openSessions(SESSIONS);
    const releaseAndRevoke = (id: string) => Promise.all([release(app, license.key, id), gql(app, REVOKE, { id }, owner.token)]);
    const [forced, ...free] = sessionIds;
    const answers = await Promise.all([withRowHeld(forced!, 2, () => releaseAndRevoke(forced!)), ...free.map(releaseAndRevoke)]);

    const ends = await recordedEnds(sessionIds);
    ends.forEach(({ row, audits, events }, i) => {
      const action = `seat.${row.endReason!.toLowerCase()}`;
      expect(['seat.released', 'seat.revoked'], row.id).toContain(action);
      expect(audits, row.id).toEqual([action]);
      expect(events, row.id).toEqual([action]);
      const [released, revoked] = answers[i]!;
      const told = { id: row.id, endReason: row.endReason, endedAt: row.endedAt!.toISOString() };
      expect(released, row.id).toMatchObject({ __typename: 'SeatReleased', session: told });
      expect(revoked.data?.revokeSession, row.id).toMatchObject({ __typename: 'SessionRevoked', session: told });
    });
    expect((await app.services.seats.count(license.id))?.used).toBe(0);
  });
});
