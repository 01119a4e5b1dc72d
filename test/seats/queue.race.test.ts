/** The seat queue under a crowd, through the API: exact counts, FIFO hand-over, and the push of READY. */
import { and, eq, isNull } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { seatSessions } from '../../src/db/schema.ts';
import { createLicense, gql, release } from '../support/harness.ts';
import { collect, servedApp, wsClient } from '../support/server.ts';

const served = servedApp();

const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) {
  __typename
  ... on SeatGranted { session { id } }
  ... on SeatQueued { ticket { id position status expiresAt } seats { used max } }
  ... on Error { code } } }`;
const CLAIM = `mutation($input: ClaimQueuedSeatInput!) { claimQueuedSeat(input: $input) {
  __typename ... on SeatGranted { session { id fingerprint } seats { used } } ... on Error { code } } }`;
const FOLLOW = `subscription($key: String!, $id: ID!) { seatQueueUpdated(licenseKey: $key, ticketId: $id) { id status position } }`;

describe('the seat queue under concurrency', () => {
  it('grants 10 and queues 490 of 500 concurrent clients, then hands the 10 freed seats to the first 10 in line, pushed as READY', async () => {
    const license = await createLicense(served.app, { maxSeats: 10, queue: { enabled: true, maxLength: 1000, claimSeconds: 60 } });
    const results = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const r = await gql(served.app, ACQUIRE, { input: { licenseKey: license.key, fingerprint: `client-${i}`, queue: true } });
        return { fingerprint: `client-${i}`, answer: r.data?.acquireSeat };
      }),
    );
    const granted = results.filter((r) => r.answer.__typename === 'SeatGranted');
    const queued = results.filter((r) => r.answer.__typename === 'SeatQueued');
    expect(granted).toHaveLength(10);
    expect(queued).toHaveLength(490);
    const line = [...queued].sort((a, b) => a.answer.ticket.position - b.answer.ticket.position);
    expect(line.map((r) => r.answer.ticket.position)).toEqual(Array.from({ length: 490 }, (_, i) => i + 1));

    const client = wsClient(served.wsUrl, null);
    const claimed: string[] = [];
    for (let i = 0; i < 10; i++) {
      const ticket = line[i]!.answer.ticket;
      const feed = collect<{ seatQueueUpdated: { status: string; position: number } }>(client, FOLLOW, { key: license.key, id: ticket.id });
      expect((await feed.until(1))[0]!.seatQueueUpdated).toMatchObject({ status: 'WAITING', position: 1 });
      await release(served.app, license.key, granted[i]!.answer.session.id);
      expect((await feed.until(2))[1]!.seatQueueUpdated).toEqual({ id: ticket.id, status: 'READY', position: 0 });
      feed.dispose();

      // Nobody outside the line takes the set-aside seat, not even someone asking to queue.
      const outsider = await gql(served.app, ACQUIRE, { input: { licenseKey: license.key, fingerprint: `outsider-${i}`, queue: true } });
      expect(outsider.data?.acquireSeat).toMatchObject({ __typename: 'SeatQueued', ticket: { position: 490 } });
      const claim = await gql(served.app, CLAIM, { input: { licenseKey: license.key, ticketId: ticket.id } });
      expect(claim.data?.claimQueuedSeat).toMatchObject({ __typename: 'SeatGranted', session: { fingerprint: line[i]!.fingerprint } });
      claimed.push(line[i]!.fingerprint);
    }
    await client.dispose();
    expect(claimed).toEqual(line.slice(0, 10).map((r) => r.fingerprint));

    const open = await served.app.services.db
      .select()
      .from(seatSessions)
      .where(and(eq(seatSessions.licenseId, license.id), isNull(seatSessions.endedAt)));
    expect(open).toHaveLength(10);
    expect((await served.app.services.seats.count(license.id))?.used).toBe(10);
  }, 120_000);
});
