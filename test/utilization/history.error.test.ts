/** seatUtilization refuses ranges it cannot answer as bad input, naming the argument. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { DAY } from '../support/clock.ts';
import { gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

const UTILIZATION = `query($licenseId: ID, $from: DateTime!, $to: DateTime!, $granularity: Granularity!) {
  seatUtilization(licenseId: $licenseId, from: $from, to: $to, granularity: $granularity) { at peakUsed } }`;

const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();

it.each([
  ['from after to', { from: iso(now), to: iso(now - DAY), granularity: 'HOUR' }, /from must be before to/],
  ['an empty range', { from: iso(now), to: iso(now), granularity: 'DAY' }, /from must be before to/],
  ['minutes over more than 7 days', { from: iso(now - 8 * DAY), to: iso(now), granularity: 'MINUTE' }, /at most 7 days/],
  ['hours over more than 90 days', { from: iso(now - 91 * DAY), to: iso(now), granularity: 'HOUR' }, /at most 90 days/],
  ['days over more than 2 years', { from: iso(now - 731 * DAY), to: iso(now), granularity: 'DAY' }, /at most 730 days/],
])('refuses %s as bad input', async (_name, variables, message) => {
  const org = await seedOrganization(app);
  const r = await gql(app, UTILIZATION, variables, org.token);
  expect(r.data?.seatUtilization ?? null).toBeNull();
  expect(r.errors?.[0]).toMatchObject({ message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT' } });
});
