/** An overview page follows every license of its organization with one subscription, across instances. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { acquire, gql, release, startApp } from '../support/harness.ts';
import { addUser, seedOrganization } from '../support/organizations.ts';
import { collect, serve, wsClient } from '../support/server.ts';
import { createLicenseAs } from '../support/webhooks.ts';

let first: App;
let second: App;
let server: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  [first, second] = await Promise.all([startApp(), startApp()]);
  server = await serve(first);
});
afterAll(async () => {
  await server.close();
  await Promise.all([first.close(), second.close()]);
});

const SUBSCRIBE_ALL = `subscription { seatCountsChanged { licenseId used max changedAt } }`;
type Counts = { seatCountsChanged: { licenseId: string; used: number; max: number; changedAt: string } };

it('delivers the changes of every license of the organization, in order, whichever instance made them', async () => {
  const org = await seedOrganization(first, 'viewer');
  const { token: ownerToken } = await addUser(first, org.orgId, 'owner');
  const other = await seedOrganization(first, 'owner');
  const probe = await createLicenseAs(first, ownerToken, { maxSeats: 1 });
  const a = await createLicenseAs(first, ownerToken, { maxSeats: 2 });
  const b = await createLicenseAs(first, ownerToken, { maxSeats: 5 });
  const elsewhere = await createLicenseAs(first, other.token, { maxSeats: 1 });

  const client = wsClient(server.wsUrl, org.token);
  const feed = collect<Counts>(client, SUBSCRIBE_ALL, {});
  // No snapshot comes first: take and give back a seat of a probe license until the feed hears it.
  while (feed.events.length === 0) {
    const held = await acquire(first, probe.key, 'probe');
    await release(first, probe.key, held.session.id);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const one = await acquire(second, b.key, 'one');
  await acquire(first, elsewhere.key, 'not-ours');
  await acquire(second, a.key, 'two');
  await release(first, b.key, one.session.id);
  const ours = () => feed.events.filter((e) => e.seatCountsChanged.licenseId !== probe.id);
  while (ours().length < 5) await feed.until(feed.events.length + 1);
  // A license's first seat operation loads it into the seat store, which announces its count.
  expect(ours().map((e) => [e.seatCountsChanged.licenseId, e.seatCountsChanged.used, e.seatCountsChanged.max])).toEqual([
    [b.id, 0, 5],
    [b.id, 1, 5],
    [a.id, 0, 2],
    [a.id, 1, 2],
    [b.id, 0, 5],
  ]);
  feed.dispose();
  await client.dispose();
});

it('starts with the current counts of the licenses a page names, then every change, so a change made while the page loads is not lost', async () => {
  const org = await seedOrganization(first, 'owner');
  const shown = await createLicenseAs(first, org.token, { maxSeats: 3 });
  const quiet = await createLicenseAs(first, org.token, { maxSeats: 2 });
  const unnamed = await createLicenseAs(first, org.token, { maxSeats: 4 });
  // The page's query answered before this seat was taken; the subscription starts after it.
  await acquire(second, shown.key, 'while-loading');
  await acquire(second, unnamed.key, 'not-asked-for');

  const client = wsClient(server.wsUrl, org.token);
  const feed = collect<Counts>(
    client,
    `subscription($ids: [ID!]) { seatCountsChanged(licenseIds: $ids) { licenseId used max changedAt } }`,
    { ids: [shown.id, quiet.id, shown.id] },
  );
  await feed.until(2);
  const snapshot = feed.events.map((e) => [e.seatCountsChanged.licenseId, e.seatCountsChanged.used, e.seatCountsChanged.max]);
  expect(snapshot.sort()).toEqual([[shown.id, 1, 3], [quiet.id, 0, 2]].sort());

  await acquire(second, quiet.key, 'after');
  await feed.until(3);
  expect(feed.events.slice(2).map((e) => [e.seatCountsChanged.licenseId, e.seatCountsChanged.used])).toEqual([[quiet.id, 1]]);
  feed.dispose();
  await client.dispose();
});

it('follows the line too: joining it, a seat passing to the first in line and a READY ticket leaving are one change each', async () => {
  const org = await seedOrganization(first, 'owner');
  const license = await createLicenseAs(first, org.token, { maxSeats: 1, queue: { enabled: true, maxLength: 10, claimSeconds: 60 } });
  const held = await acquire(second, license.key, 'holder');
  const queueUp = async (fingerprint: string) => {
    const answer = await gql(
      second,
      `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) { ... on SeatQueued { ticket { id } } } }`,
      { input: { licenseKey: license.key, fingerprint, queue: true } },
    );
    return answer.data!.acquireSeat.ticket.id as string;
  };

  const client = wsClient(server.wsUrl, org.token);
  type Line = { seatCountsChanged: { used: number; queued: number } };
  const feed = collect<Line>(client, `subscription($ids: [ID!]) { seatCountsChanged(licenseIds: $ids) { used queued } }`, {
    ids: [license.id],
  });
  await feed.until(1);
  const firstInLine = await queueUp('first');
  await feed.until(2);
  await queueUp('second');
  await feed.until(3);
  // The freed seat is set aside for the first in line at once: as many seats in use, one fewer waiting.
  await release(second, license.key, held.session.id);
  await feed.until(4);
  // The first leaves with the seat set aside for it, which passes to the second: announced by
  // the line's settling and by the leaving in the same step, it reaches the page once.
  const left = await gql(
    second,
    `mutation($input: LeaveQueueInput!) { leaveQueue(input: $input) { __typename } }`,
    { input: { licenseKey: license.key, ticketId: firstInLine } },
  );
  expect(left.errors).toBeUndefined();
  await feed.until(5);
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(feed.events.map((e) => e.seatCountsChanged)).toEqual([
    { used: 1, queued: 0 },
    { used: 1, queued: 1 },
    { used: 1, queued: 2 },
    { used: 1, queued: 1 },
    { used: 1, queued: 0 },
  ]);
  feed.dispose();
  await client.dispose();
});
