/** Leasing strategies through the API: per process with a per-machine bound, and per user across machines. */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { seatSessions } from '../../src/db/schema.ts';
import { admin, createLicense, gql, heartbeat, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) {
  __typename
  ... on SeatGranted { session { id fingerprint userId processId } seats { used max } }
  ... on TooManyProcesses { maxProcessesPerMachine }
  ... on Error { code message } } }`;

const acquire = async (input: Record<string, unknown>) => (await gql(app, ACQUIRE, { input })).data?.acquireSeat;
const usedSeats = async (id: string) =>
  (await admin(app, `query($id: ID!) { license(id: $id) { seats { used } leasingStrategy maxProcessesPerMachine } }`, { id })).data?.license;

describe('leasing per process', () => {
  it('holds exactly maxProcessesPerMachine on each machine against 300 concurrent processes', async () => {
    const license = await createLicense(app, { maxSeats: 100, leasingStrategy: 'PER_PROCESS', maxProcessesPerMachine: 4 });
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => acquire({ licenseKey: license.key, fingerprint: `box-${i % 3}`, processId: `pid-${i}` })),
    );
    const granted = results.filter((r) => r.__typename === 'SeatGranted');
    expect(granted).toHaveLength(12);
    expect(results.filter((r) => r.__typename === 'TooManyProcesses' && r.maxProcessesPerMachine === 4)).toHaveLength(288);
    expect(await usedSeats(license.id)).toEqual({ seats: { used: 12 }, leasingStrategy: 'PER_PROCESS', maxProcessesPerMachine: 4 });
    const rows = await app.services.db.select().from(seatSessions).where(eq(seatSessions.licenseId, license.id));
    expect(rows.map((r) => r.processId).sort()).toEqual(granted.map((r) => r.session.processId).sort());
  }, 60_000);

  it('renews the session of a returning process and shows its process id on heartbeats', async () => {
    const license = await createLicense(app, { maxSeats: 5, leasingStrategy: 'PER_PROCESS' });
    const first = await acquire({ licenseKey: license.key, fingerprint: 'box', processId: 'editor' });
    const again = await acquire({ licenseKey: license.key, fingerprint: 'box', processId: 'editor' });
    const other = await acquire({ licenseKey: license.key, fingerprint: 'box', processId: 'renderer' });
    expect(again.session.id).toBe(first.session.id);
    expect(other.session.id).not.toBe(first.session.id);
    expect(other.seats.used).toBe(2);
    const renewed = await gql(
      app,
      `mutation($input: HeartbeatSeatInput!) { heartbeatSeat(input: $input) { ... on SeatRenewed { session { processId userId } } } }`,
      { input: { licenseKey: license.key, sessionId: first.session.id } },
    );
    expect(renewed.data?.heartbeatSeat.session).toEqual({ processId: 'editor', userId: null });
  });
});

describe('leasing per user', () => {
  it('grants exactly maxSeats users, each on all of their machines, to 300 concurrent acquires', async () => {
    const license = await createLicense(app, { maxSeats: 5, leasingStrategy: 'PER_USER' });
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => acquire({ licenseKey: license.key, fingerprint: `machine-${i}`, userId: `user-${i % 30}` })),
    );
    const granted = results.filter((r) => r.__typename === 'SeatGranted');
    expect(granted).toHaveLength(50);
    expect(new Set(granted.map((r) => r.session.userId)).size).toBe(5);
    expect(results.filter((r) => r.code === 'NO_SEATS_AVAILABLE')).toHaveLength(250);
    expect((await usedSeats(license.id)).seats.used).toBe(5);
  }, 60_000);

  it('keeps the seat while any machine of the user holds a session, and gives every machine a lease of its own', async () => {
    const license = await createLicense(app, { maxSeats: 1, leasingStrategy: 'PER_USER' });
    const laptop = await acquire({ licenseKey: license.key, fingerprint: 'laptop', userId: 'ann' });
    const desktop = await acquire({ licenseKey: license.key, fingerprint: 'desktop', userId: 'ann' });
    expect([laptop.session.fingerprint, desktop.session.fingerprint]).toEqual(['laptop', 'desktop']);
    expect(desktop.seats).toEqual({ used: 1, max: 1 });
    expect((await heartbeat(app, license.key, desktop.session.id)).__typename).toBe('SeatRenewed');
    expect((await acquire({ licenseKey: license.key, fingerprint: 'other', userId: 'bob' })).code).toBe('NO_SEATS_AVAILABLE');
  });
});
