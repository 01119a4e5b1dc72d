/** A license's machines through the API: listed with when they were seen, and deactivated so another can take the place. */
import { and, eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs, webhookEvents } from '../../src/db/schema.ts';
import { REDIS_URL, acquire, admin, createLicense, gql, heartbeat, release, startApp } from '../support/harness.ts';
import { DAY, movableClock } from '../support/clock.ts';

const clock = movableClock();
let app: App;
const redis = new Redis(REDIS_URL);
beforeAll(async () => {
  app = await startApp({}, { clock });
});
afterAll(async () => {
  redis.disconnect();
  await app.close();
});

const MACHINES = `query($id: ID!, $first: Int, $after: String) { license(id: $id) { machines(first: $first, after: $after) {
  edges { cursor node { fingerprint firstSeenAt lastSeenAt activeSessions } } pageInfo { hasNextPage endCursor } } } }`;

const DEACTIVATE = `mutation($input: DeactivateMachineInput!) { deactivateMachine(input: $input) {
  __typename
  ... on MachineDeactivated { machine { fingerprint activeSessions } }
  ... on MachineInUse { activeSessions }
  ... on DeactivationLimitReached { maxDeactivationsPerMonth }
  ... on Error { code message } } }`;

const machinesOf = async (licenseId: string, first = 100, after?: string) =>
  (await admin(app, MACHINES, { id: licenseId, first, after })).data?.license.machines;
const deactivate = async (licenseId: string, fingerprint: string, force?: boolean) =>
  (await admin(app, DEACTIVATE, { input: { licenseId, fingerprint, force } })).data?.deactivateMachine;

describe('machines', () => {
  it('lists each machine once, first seen first, with its live sessions, a page at a time', async () => {
    const license = await createLicense(app, { maxSeats: 5 });
    const first = await acquire(app, license.key, 'alpha');
    await release(app, license.key, first.session.id);
    await acquire(app, license.key, 'alpha');
    await acquire(app, license.key, 'beta');
    const offline = await gql(
      app,
      `mutation($input: RequestCertificateInput!) { requestCertificate(input: $input) { __typename } }`,
      { input: { licenseKey: license.key, fingerprint: 'gamma' } },
    );
    expect(offline.data?.requestCertificate.__typename).toBe('CertificateIssued');

    const all = await machinesOf(license.id);
    expect(all.edges.map((e: { node: object }) => e.node)).toEqual([
      expect.objectContaining({ fingerprint: 'alpha', activeSessions: 1 }),
      expect.objectContaining({ fingerprint: 'beta', activeSessions: 1 }),
      expect.objectContaining({ fingerprint: 'gamma', activeSessions: 0 }),
    ]);
    for (const { node } of all.edges) expect(Date.parse(node.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(node.firstSeenAt));

    const page = await machinesOf(license.id, 2);
    expect(page.pageInfo).toEqual({ hasNextPage: true, endCursor: 'beta' });
    const rest = await machinesOf(license.id, 2, page.pageInfo.endCursor);
    expect(rest.edges.map((e: { node: { fingerprint: string } }) => e.node.fingerprint)).toEqual(['gamma']);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses a machine a live session holds; with force ends that session, frees the place, and records it', async () => {
    const license = await createLicense(app, { maxSeats: 5, maxMachines: 1 });
    const held = await acquire(app, license.key, 'old-laptop');
    expect((await acquire(app, license.key, 'new-laptop')).code).toBe('TOO_MANY_MACHINES');

    expect(await deactivate(license.id, 'old-laptop')).toMatchObject({ __typename: 'MachineInUse', code: 'MACHINE_IN_USE', activeSessions: 1 });
    expect((await heartbeat(app, license.key, held.session.id)).__typename).toBe('SeatRenewed');

    expect(await deactivate(license.id, 'old-laptop', true)).toEqual({
      __typename: 'MachineDeactivated',
      machine: { fingerprint: 'old-laptop', activeSessions: 0 },
    });
    expect(await heartbeat(app, license.key, held.session.id)).toMatchObject({ code: 'SESSION_EXPIRED' });
    const session = await admin(app, `query($id: ID!) { session(id: $id) { endReason } }`, { id: held.session.id });
    expect(session.data?.session.endReason).toBe('REVOKED');
    const revoked = await app.services.db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.type, 'seat.revoked'), sql`${webhookEvents.data}->'session'->>'id' = ${held.session.id}`));
    expect(revoked.map((e) => (e.data as { seats: unknown }).seats)).toEqual([expect.objectContaining({ used: 0, max: 5 })]);
    expect((await acquire(app, license.key, 'new-laptop')).__typename).toBe('SeatGranted');
    expect((await machinesOf(license.id)).edges.map((e: { node: { fingerprint: string } }) => e.node.fingerprint)).toEqual(['new-laptop']);

    const events = await app.services.db
      .select()
      .from(webhookEvents)
      .where(and(eq(webhookEvents.type, 'machine.deactivated'), sql`${webhookEvents.data}->>'licenseId' = ${license.id}`));
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ machine: { fingerprint: 'old-laptop' }, endedSessionIds: [held.session.id], seats: { used: 0, max: 5 } });
    const audit = await app.services.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, 'machine.deactivated'), eq(auditLogs.resourceId, license.id)));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.data).toMatchObject({ fingerprint: 'old-laptop', force: true, endedSessions: [held.session.id] });
  });

  it('answers NOT_FOUND for a machine the license does not have, and for one deactivated already', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await release(app, license.key, (await acquire(app, license.key, 'once')).session.id);
    expect(await deactivate(license.id, 'never')).toMatchObject({ __typename: 'MachineNotFound', code: 'NOT_FOUND' });
    expect((await deactivate(license.id, 'once')).__typename).toBe('MachineDeactivated');
    expect(await deactivate(license.id, 'once')).toMatchObject({ __typename: 'MachineNotFound' });
  });

  it('allows maxDeactivationsPerMonth per UTC calendar month, and the bound shows on the license and can change', async () => {
    clock.freeze(Date.UTC(2031, 0, 31, 23, 0));
    try {
      const license = await createLicense(app, { maxSeats: 10, maxDeactivationsPerMonth: 2 });
      for (const fp of ['m1', 'm2', 'm3', 'm4']) await release(app, license.key, (await acquire(app, license.key, fp)).session.id);
      expect((await deactivate(license.id, 'm1')).__typename).toBe('MachineDeactivated');
      expect((await deactivate(license.id, 'm2')).__typename).toBe('MachineDeactivated');
      expect(await deactivate(license.id, 'm3')).toMatchObject({
        __typename: 'DeactivationLimitReached',
        code: 'DEACTIVATION_LIMIT',
        maxDeactivationsPerMonth: 2,
      });
      clock.advance(DAY / 12); // 01:00 on the first of February
      expect((await deactivate(license.id, 'm3')).__typename).toBe('MachineDeactivated');

      const updated = await admin(
        app,
        `mutation($input: UpdateLicenseInput!) { updateLicense(input: $input) { ... on LicenseUpdated { license { maxDeactivationsPerMonth } } } }`,
        { input: { id: license.id, maxDeactivationsPerMonth: null } },
      );
      expect(updated.data?.updateLicense.license.maxDeactivationsPerMonth).toBeNull();
      expect((await deactivate(license.id, 'm4')).__typename).toBe('MachineDeactivated');
    } finally {
      clock.reset();
    }
  });

  it('keeps a deactivated machine deactivated when Redis loses the license and rebuilds it from Postgres', async () => {
    const license = await createLicense(app, { maxSeats: 2, maxMachines: 1 });
    await release(app, license.key, (await acquire(app, license.key, 'retired')).session.id);
    expect((await deactivate(license.id, 'retired')).__typename).toBe('MachineDeactivated');
    const keys = await redis.keys(`lh:{${license.id}}:*`);
    await redis.del(...keys);
    expect((await acquire(app, license.key, 'replacement')).__typename).toBe('SeatGranted');
    expect((await acquire(app, license.key, 'retired')).code).toBe('TOO_MANY_MACHINES');
  });
});
