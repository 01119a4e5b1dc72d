/** The seat queue in Postgres: every ticket's way through the line as events and audit rows, and a line that outlives Redis's data. */
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { rowsOf } from '../../src/db/client.ts';
import { sweepLapsedTickets } from '../../src/services/seats/sweeper.ts';
import { acquire, createLicense, gql, release, sleep, startApp, startAppBehindProxy } from '../support/harness.ts';
import { startRedisServer } from '../support/redisCluster.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

const QUEUE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) {
  __typename ... on SeatQueued { ticket { id position } } ... on Error { code } } }`;
const TICKET = `mutation($input: HeartbeatQueueTicketInput!) { heartbeatQueueTicket(input: $input) {
  __typename ... on QueueTicket { status position } ... on Error { code } } }`;
const LEAVE = `mutation($input: LeaveQueueInput!) { leaveQueue(input: $input) { __typename ... on QueueTicket { status } } }`;
const CLAIM = `mutation($input: ClaimQueuedSeatInput!) { claimQueuedSeat(input: $input) { __typename } }`;

async function queueUp(app: App, licenseKey: string, fingerprint: string): Promise<string> {
  const answer = (await gql(app, QUEUE, { input: { licenseKey, fingerprint, queue: true } })).data?.acquireSeat;
  expect(answer.__typename).toBe('SeatQueued');
  return answer.ticket.id;
}

async function ticketEvents(app: App, licenseId: string) {
  return rowsOf<{ type: string; id: string; reason: string | null; position: number | null }>(
    await app.services.db.execute(sql`
      select type, data->'ticket'->>'id' as id, data->'ticket'->>'endReason' as reason, (data->>'position')::int as position
        from webhook_events where type like 'seat.%queued' and data->'ticket'->>'licenseId' = ${licenseId} order by created_at, type`),
  );
}

async function openTickets(app: App, licenseId: string) {
  const rows = rowsOf<{ id: string }>(
    await app.services.db.execute(sql`
      select id from seat_queue_tickets where license_id = ${licenseId} and ended_at is null order by queued_at, id`),
  );
  return rows.map((r) => r.id);
}

describe('the seat queue on record', () => {
  it('announces each ticket joining the line and leaving it (left, claimed or lapsed) once, with its audit rows', async () => {
    const app = await startApp();
    cleanup.push(() => app.close());
    const license = await createLicense(app, { maxSeats: 1, queue: { enabled: true, maxLength: 10, claimSeconds: 1 } });
    const holder = await acquire(app, license.key, 'holder');
    const first = await queueUp(app, license.key, 'first');
    const leaving = await queueUp(app, license.key, 'leaving');
    const lapsing = await queueUp(app, license.key, 'lapsing');
    // Asking again for a machine already in line answers its ticket and records nothing new.
    expect(await queueUp(app, license.key, 'first')).toBe(first);
    expect(await openTickets(app, license.id)).toEqual([first, leaving, lapsing]);

    await gql(app, LEAVE, { input: { licenseKey: license.key, ticketId: leaving } });
    await gql(app, LEAVE, { input: { licenseKey: license.key, ticketId: leaving } });
    await release(app, license.key, holder.session.id);
    expect((await gql(app, CLAIM, { input: { licenseKey: license.key, ticketId: first } })).data?.claimQueuedSeat.__typename).toBe('SeatGranted');
    await sleep(1_200);
    // Two sweepers at once end the lapsed ticket once (the events below say so).
    await Promise.all([sweepLapsedTickets(app.services), sweepLapsedTickets(app.services)]);

    expect(await ticketEvents(app, license.id)).toEqual([
      { type: 'seat.queued', id: first, reason: null, position: 1 },
      { type: 'seat.queued', id: leaving, reason: null, position: 2 },
      { type: 'seat.queued', id: lapsing, reason: null, position: 3 },
      { type: 'seat.dequeued', id: leaving, reason: 'LEFT', position: null },
      { type: 'seat.dequeued', id: first, reason: 'CLAIMED', position: null },
      { type: 'seat.dequeued', id: lapsing, reason: 'EXPIRED', position: null },
    ]);
    expect(await openTickets(app, license.id)).toEqual([]);
    const audit = rowsOf<{ action: string; resource_id: string }>(
      await app.services.db.execute(sql`
        select action, resource_id from audit_logs where resource_type = 'queue_ticket' and data->>'licenseId' = ${license.id} order by seq`),
    );
    expect(audit.map((a) => [a.action, a.resource_id])).toEqual([
      ['seat.queued', first],
      ['seat.queued', leaving],
      ['seat.queued', lapsing],
      ['seat.dequeued', leaving],
      ['seat.dequeued', first],
      ['seat.dequeued', lapsing],
    ]);
  });

  it('puts the line back in the order it was after Redis comes back empty, and the first in line gets the next free seat', async () => {
    // A Redis server of its own, so flushing it touches no other suite.
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const app = await startApp({ REDIS_URL: server.url });
    cleanup.push(() => app.close());
    const license = await createLicense(app, { maxSeats: 1, queue: { enabled: true, maxLength: 10, claimSeconds: 60 } });
    const holder = await acquire(app, license.key, 'holder');
    const line = [await queueUp(app, license.key, 'one'), await queueUp(app, license.key, 'two'), await queueUp(app, license.key, 'three')];
    await gql(app, LEAVE, { input: { licenseKey: license.key, ticketId: line[1] } });

    const redis = new Redis(server.url);
    cleanup.push(async () => redis.disconnect());
    await redis.flushall();
    expect(await app.services.seats.count(license.id)).toBeUndefined();

    const asked = await gql(app, TICKET, { input: { licenseKey: license.key, ticketId: line[2] } });
    expect(asked.data?.heartbeatQueueTicket).toEqual({ __typename: 'QueueTicket', status: 'WAITING', position: 2 });
    const count = (await app.services.seats.count(license.id))!;
    expect({ used: count.used, queued: count.queued }).toEqual({ used: 1, queued: (await openTickets(app, license.id)).length });
    expect(count.queued).toBe(2);

    await release(app, license.key, holder.session.id);
    const next = await gql(app, TICKET, { input: { licenseKey: license.key, ticketId: line[0] } });
    expect(next.data?.heartbeatQueueTicket).toEqual({ __typename: 'QueueTicket', status: 'READY', position: 0 });
    // A ticket that joins after the rebuild waits behind the rebuilt line.
    expect((await gql(app, QUEUE, { input: { licenseKey: license.key, fingerprint: 'four', queue: true } })).data?.acquireSeat.ticket.position).toBe(2);
  });

  it('keeps nobody in line whom Postgres could not record: the caller hears SERVICE_UNAVAILABLE and the line is as before', async () => {
    const { app, proxy, close } = await startAppBehindProxy();
    cleanup.push(close);
    const license = await createLicense(app, { maxSeats: 1, queue: { enabled: true, maxLength: 10, claimSeconds: 60 } });
    await acquire(app, license.key, 'holder');
    const before = await queueUp(app, license.key, 'before');

    proxy.cut();
    const failed = await gql(app, QUEUE, { input: { licenseKey: license.key, fingerprint: 'during-outage', queue: true } });
    expect(failed.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect((await app.services.seats.count(license.id))?.queued).toBe(1);
    await proxy.restore();

    // Once Postgres answers again, the machine joins behind the one that was there.
    await expect.poll(async () => (await gql(app, QUEUE, { input: { licenseKey: license.key, fingerprint: 'during-outage', queue: true } })).data?.acquireSeat?.ticket?.position, { timeout: 15_000 }).toBe(2);
    expect((await openTickets(app, license.id))[0]).toBe(before);
  });
});
