/**
 * Deactivating machines is an operator's act inside one organization: a viewer, a key holder, a
 * stranger or another organization cannot do it or see the machines, and hostile input changes nothing.
 */
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { machines } from '../../src/db/schema.ts';
import { acquire, gql, startApp } from '../support/harness.ts';
import { addUser, seedOrganization } from '../support/organizations.ts';

let app: App;
let owner: { orgId: string; token: string };
let license: { id: string; key: string };
beforeAll(async () => {
  app = await startApp();
  owner = await seedOrganization(app, 'owner');
  const created = await gql(
    app,
    `mutation { createLicense(input: { tier: "pro", features: [], maxSeats: 2 }) { ... on LicenseCreated { key license { id } } } }`,
    {},
    owner.token,
  );
  license = { id: created.data?.createLicense.license.id, key: created.data?.createLicense.key };
  await acquire(app, license.key, 'workstation');
});
afterAll(() => app.close());

const DEACTIVATE = `mutation($input: DeactivateMachineInput!) { deactivateMachine(input: $input) { __typename ... on Error { code message } } }`;
const MACHINES = `query($id: ID!) { license(id: $id) { machines { edges { node { fingerprint } } } } }`;
const machineRows = async () => (await app.services.db.select({ n: count() }).from(machines).where(eq(machines.licenseId, license.id)))[0]!.n;

describe('deactivateMachine', () => {
  it('is refused to a viewer, who sees the machines but no way to free one', async () => {
    const viewer = await addUser(app, owner.orgId, 'viewer');
    const listed = await gql(app, MACHINES, { id: license.id }, viewer.token);
    expect(listed.data?.license.machines.edges).toEqual([{ node: { fingerprint: 'workstation' } }]);
    const refused = await gql(app, DEACTIVATE, { input: { licenseId: license.id, fingerprint: 'workstation', force: true } }, viewer.token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await machineRows()).toBe(1);
  });

  it('is refused without a credential and to the license key itself', async () => {
    const anonymous = await gql(app, DEACTIVATE, { input: { licenseId: license.id, fingerprint: 'workstation', force: true } });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const withKey = await gql(app, DEACTIVATE, { input: { licenseId: license.id, fingerprint: 'workstation', force: true } }, license.key);
    expect(withKey.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await machineRows()).toBe(1);
  });

  it("answers NOT_FOUND to another organization's owner, as for a license that does not exist, and shows it nothing", async () => {
    const stranger = await seedOrganization(app, 'owner');
    const refused = await gql(app, DEACTIVATE, { input: { licenseId: license.id, fingerprint: 'workstation', force: true } }, stranger.token);
    expect(refused.data?.deactivateMachine).toMatchObject({ code: 'NOT_FOUND' });
    const missing = await gql(app, DEACTIVATE, { input: { licenseId: 'lic_doesnotexist', fingerprint: 'workstation' } }, stranger.token);
    expect(missing.data?.deactivateMachine.code).toBe(refused.data?.deactivateMachine.code);
    expect((await gql(app, MACHINES, { id: license.id }, stranger.token)).data?.license).toBeNull();
    expect(await machineRows()).toBe(1);
  });

  it.each([
    ['a NUL byte', 'work\u0000station'],
    ['257 characters', 'x'.repeat(257)],
    ['nothing', ''],
  ])('refuses a fingerprint of %s as bad input naming the field, changing nothing', async (_what, fingerprint) => {
    const answer = await gql(app, DEACTIVATE, { input: { licenseId: license.id, fingerprint, force: true } }, owner.token);
    const error = answer.errors?.[0]?.extensions ?? answer.data?.deactivateMachine;
    expect(['BAD_USER_INPUT', 'INVALID_INPUT']).toContain(error?.code);
    expect(JSON.stringify(answer)).toMatch(/fingerprint/);
    expect(JSON.stringify(answer)).not.toMatch(/at .*\.ts:\d+/);
    expect(await machineRows()).toBe(1);
  });

  it('refuses a page size out of range on License.machines', async () => {
    const answer = await gql(app, `query($id: ID!) { license(id: $id) { machines(first: 0) { edges { cursor } } } }`, { id: license.id }, owner.token);
    expect(answer.errors?.[0]?.message).toMatch(/first must be from 1 to 100/);
  });
});
