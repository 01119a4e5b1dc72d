/** The seat queue refuses what it cannot honour: unknown and ended tickets, malformed ids, another license's key. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { admin, createLicense, gql, sleep, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const queue = { enabled: true, maxLength: 10, claimSeconds: 1 };
const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) {
  __typename ... on SeatQueued { ticket { id } } ... on Error { code } } }`;
const TICKET = (field: string, input: string) => `mutation($input: ${input}!) { ${field}(input: $input) {
  __typename ... on QueueTicket { status position } ... on Error { code } } }`;
const HEARTBEAT = TICKET('heartbeatQueueTicket', 'HeartbeatQueueTicketInput');
const LEAVE = TICKET('leaveQueue', 'LeaveQueueInput');
const CLAIM = `mutation($input: ClaimQueuedSeatInput!) { claimQueuedSeat(input: $input) { __typename ... on Error { code } } }`;

async function waiting(licenseKey: string, fingerprint: string) {
  const r = await gql(app, ACQUIRE, { input: { licenseKey, fingerprint, queue: true } });
  return r.data?.acquireSeat;
}

describe('the seat queue', () => {
  it('shows the policy on the license and queues nobody while it is off', async () => {
    const off = await createLicense(app, { maxSeats: 1 });
    const read = await admin(app, `query($id: ID!) { license(id: $id) { queue { enabled maxLength claimSeconds } } }`, { id: off.id });
    expect(read.data?.license.queue).toEqual({ enabled: false, maxLength: 1000, claimSeconds: 60 });
    await waiting(off.key, 'holder');
    expect(await waiting(off.key, 'other')).toEqual({ __typename: 'NoSeatsAvailable', code: 'NO_SEATS_AVAILABLE' });
  });

  it('answers an unknown ticket as QueueTicketNotFound, a lapsed one as QueueTicketExpired, and a left one as LEFT', async () => {
    const license = await createLicense(app, { maxSeats: 1, queue });
    await waiting(license.key, 'holder');
    const lapsing = (await waiting(license.key, 'lapsing')).ticket.id;
    const leaving = (await waiting(license.key, 'leaving')).ticket.id;
    expect((await gql(app, LEAVE, { input: { licenseKey: license.key, ticketId: leaving } })).data?.leaveQueue).toEqual({
      __typename: 'QueueTicket',
      status: 'LEFT',
      position: 0,
    });
    const unknown = 'qtk_' + 'a'.repeat(22);
    expect((await gql(app, HEARTBEAT, { input: { licenseKey: license.key, ticketId: unknown } })).data?.heartbeatQueueTicket).toEqual({
      __typename: 'QueueTicketNotFound',
      code: 'NOT_FOUND',
    });
    await sleep(1200);
    for (const query of [HEARTBEAT, CLAIM]) {
      const answer = Object.values((await gql(app, query, { input: { licenseKey: license.key, ticketId: lapsing } })).data ?? {})[0];
      expect(answer).toMatchObject({ code: 'QUEUE_TICKET_EXPIRED' });
    }
  });

  it("refuses a malformed ticket id with BAD_USER_INPUT and finds no ticket under another license's key", async () => {
    const license = await createLicense(app, { maxSeats: 1, queue });
    const other = await createLicense(app, { maxSeats: 1, queue });
    await waiting(license.key, 'holder');
    const ticketId = (await waiting(license.key, 'waiter')).ticket.id;
    const malformed = await gql(app, HEARTBEAT, { input: { licenseKey: license.key, ticketId: 'ses_' + 'a'.repeat(22) } });
    expect(malformed.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'ticketId' });
    const foreign = await gql(app, LEAVE, { input: { licenseKey: other.key, ticketId } });
    expect(foreign.data?.leaveQueue).toEqual({ __typename: 'QueueTicketNotFound', code: 'NOT_FOUND' });
    expect((await gql(app, HEARTBEAT, { input: { licenseKey: license.key, ticketId } })).data?.heartbeatQueueTicket).toMatchObject({
      status: 'WAITING',
    });
  });

  it('refuses a queue policy out of bounds', async () => {
    const result = await admin(
      app,
      `mutation($input: CreateLicenseInput!) { createLicense(input: $input) { __typename ... on InvalidInput { field } } }`,
      { input: { tier: 'pro', features: [], maxSeats: 1, queue: { enabled: true, maxLength: 0, claimSeconds: 60 } } },
    );
    expect(result.data?.createLicense).toEqual({ __typename: 'InvalidInput', field: 'queue' });
  });
});
