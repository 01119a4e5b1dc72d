/** Deactivations race each other and the machines' own acquires: the monthly bound and maxMachines hold exactly. */
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { machineDeactivations, machines } from '../../src/db/schema.ts';
import { acquire, admin, createLicense, release, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const DEACTIVATE = `mutation($input: DeactivateMachineInput!) { deactivateMachine(input: $input) { __typename } }`;
const deactivate = async (licenseId: string, fingerprint: string, force = false) =>
  (await admin(app, DEACTIVATE, { input: { licenseId, fingerprint, force } })).data?.deactivateMachine.__typename;
const rowsIn = async (table: typeof machines | typeof machineDeactivations, licenseId: string) =>
  (await app.services.db.select({ n: count() }).from(table).where(eq(table.licenseId, licenseId)))[0]!.n;

describe('machine deactivation under races', () => {
  it('grants exactly maxDeactivationsPerMonth of 200 concurrent deactivations of idle machines', async () => {
    const license = await createLicense(app, { maxSeats: 200, maxDeactivationsPerMonth: 10 });
    const fingerprints = Array.from({ length: 200 }, (_, i) => `idle-${i}`);
    const held = await Promise.all(fingerprints.map((fp) => acquire(app, license.key, fp)));
    await Promise.all(held.map((h) => release(app, license.key, h.session.id)));

    const answers = await Promise.all(fingerprints.map((fp) => deactivate(license.id, fp)));
    expect(answers.filter((a) => a === 'MachineDeactivated')).toHaveLength(10);
    expect(answers.filter((a) => a === 'DeactivationLimitReached')).toHaveLength(190);
    expect(await rowsIn(machineDeactivations, license.id)).toBe(10);
    expect(await rowsIn(machines, license.id)).toBe(190);
  }, 90_000);

  it('keeps maxMachines when 300 new machines acquire while 50 forced deactivations free places', async () => {
    const license = await createLicense(app, { maxSeats: 1000, maxMachines: 50 });
    const first = await Promise.all(Array.from({ length: 50 }, (_, i) => acquire(app, license.key, `first-${i}`)));
    expect(first.every((r) => r.__typename === 'SeatGranted')).toBe(true);

    const calls = [
      ...Array.from({ length: 300 }, (_, i) => acquire(app, license.key, `next-${i}`).then((r) => r.__typename as string)),
      ...Array.from({ length: 50 }, (_, i) => deactivate(license.id, `first-${i}`, true)),
    ];
    const answers = await Promise.all(calls);
    const freed = answers.filter((a) => a === 'MachineDeactivated').length;
    expect(freed).toBe(50);
    const granted = answers.filter((a) => a === 'SeatGranted').length;
    expect(granted + answers.filter((a) => a === 'TooManyMachines').length).toBe(300);
    // Places freed during the race and not yet taken go to later machines: every freed place
    // goes to exactly one new machine, and no more.
    const late = await Promise.all(Array.from({ length: 100 }, (_, i) => acquire(app, license.key, `late-${i}`)));
    expect(granted + late.filter((r) => r.__typename === 'SeatGranted').length).toBe(50);
    expect(await rowsIn(machines, license.id)).toBe(50);
    const live = (await admin(app, `query($id: ID!) { license(id: $id) { seats { used } } }`, { id: license.id })).data?.license.seats.used;
    expect(live).toBe(50);
  }, 90_000);
});
