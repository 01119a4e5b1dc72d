/** A license's page says how its seats behave (policies in its terms) and what the seats in use are made of, live. */
import { expect, it } from 'vitest';
import { acquire, gql } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';
import { signIn, useConsole } from '../support/console.ts';

const web = useConsole();

it('shows the seat policies and the seats past the limit, borrowed and waiting in line, as they change', async () => {
  const owner = await seedOrganization(web.app, 'owner');
  const license = await createLicenseAs(web.app, owner.token, {
    maxSeats: 2,
    overage: 'ALLOW_1_5X',
    lingerSeconds: 30,
    queue: { enabled: true, maxLength: 10, claimSeconds: 60 },
    maxBorrowDays: 7,
    maxBorrowedSeats: 1,
  });

  const tab = await web.open();
  const { page } = tab;
  await signIn(page, owner.email, owner.password);
  await page.goto(`${web.url}/dashboard/licenses/${license.id}`);
  const terms = page.getByRole('article').filter({ has: page.getByRole('heading', { name: 'Terms' }) });
  await expect.poll(() => terms.textContent()).toContain('granted up to 1.5 × the seats');
  const text = (await terms.textContent())!;
  expect(text).toContain('kept 30 s for the same machine');
  expect(text).toContain('a line of up to 10, 60 s to claim');
  expect(text).toContain('up to 7 days, 1 seat at once');
  expect(text).toContain('per machine');

  // A seat, a borrowed one, a third past the limit (1.5 × 2) and a fourth machine in line.
  await acquire(web.app, license.key, 'one');
  const borrowed = await gql(web.app, `mutation($i: BorrowSeatInput!) { borrowSeat(input: $i) { __typename } }`, {
    i: { licenseKey: license.key, fingerprint: 'two', days: 3 },
  });
  expect(borrowed.data?.borrowSeat.__typename).toBe('SeatBorrowed');
  await acquire(web.app, license.key, 'three');
  const queued = await gql(web.app, `mutation($i: AcquireSeatInput!) { acquireSeat(input: $i) { __typename } }`, {
    i: { licenseKey: license.key, fingerprint: 'four', queue: true },
  });
  expect(queued.data?.acquireSeat.__typename).toBe('SeatQueued');
  const details = page.getByLabel('Seat details');
  await expect.poll(() => details.textContent()).toBe('1 past the limit · 1 borrowed for offline use · 1 waiting in line');
  await expect.poll(() => page.getByRole('meter', { name: /Seats in use/ }).getAttribute('aria-label')).toBe('Seats in use: 3 of 2');
  await tab.look('license-seat-policies');
  tab.assertClean();
});
