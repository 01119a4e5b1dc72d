/**
 * How soon a client waiting in the seat queue hears that its seat is set aside: one ticket
 * followed over graphql-ws (seatQueueUpdated, the license key as credential, as the SDK does),
 * the seat's holder releases, and the time from sending the release to the READY message is
 * taken; `ROUNDS` times, each with a seat claimed and given back to start the next.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { graphql, type AppHandle } from './setup.ts';

const ROUNDS = 50;

const ACQUIRE = `mutation($i: AcquireSeatInput!) { acquireSeat(input: $i) {
  __typename ... on SeatGranted { session { id } } ... on SeatQueued { ticket { id } } } }`;
const RELEASE = `mutation($i: ReleaseSeatInput!) { releaseSeat(input: $i) { __typename } }`;
const CLAIM = `mutation($i: ClaimQueuedSeatInput!) { claimQueuedSeat(input: $i) { __typename ... on SeatGranted { session { id } } } }`;
const FOLLOW = `subscription($key: String!, $id: ID!) { seatQueueUpdated(licenseKey: $key, ticketId: $id) { status } }`;

export interface QueuePushFigures {
  rounds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function queuePush(app: AppHandle): Promise<QueuePushFigures> {
  const created = await graphql(
    app.server.url,
    `mutation { createLicense(input: { tier: "bench", features: [], maxSeats: 1, queue: { enabled: true, maxLength: 10, claimSeconds: 60 } }) {
      ... on LicenseCreated { key } } }`,
    {},
    app.adminToken,
  );
  const licenseKey = created.createLicense.key as string;
  const client = createClient({ url: app.server.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, lazy: false });
  const took: number[] = [];
  try {
    let holder = (await graphql(app.server.url, ACQUIRE, { i: { licenseKey, fingerprint: 'holder' } })).acquireSeat.session.id as string;
    for (let round = 0; round < ROUNDS; round++) {
      const queued = await graphql(app.server.url, ACQUIRE, { i: { licenseKey, fingerprint: `waiter-${round}`, queue: true } });
      const ticketId = queued.acquireSeat.ticket.id as string;
      let released = 0;
      const ready = new Promise<number>((resolve, reject) => {
        const stop = client.subscribe<{ seatQueueUpdated: { status: string } }>(
          { query: FOLLOW, variables: { key: licenseKey, id: ticketId } },
          {
            next: ({ data }) => {
              if (data?.seatQueueUpdated.status === 'WAITING' && released === 0) {
                released = performance.now();
                void graphql(app.server.url, RELEASE, { i: { licenseKey, sessionId: holder } });
              } else if (data?.seatQueueUpdated.status === 'READY') {
                stop();
                resolve(performance.now() - released);
              }
            },
            error: reject,
            complete: () => {},
          },
        );
      });
      took.push(await ready);
      holder = (await graphql(app.server.url, CLAIM, { i: { licenseKey, ticketId } })).claimQueuedSeat.session.id as string;
    }
  } finally {
    await client.dispose();
  }
  const sorted = [...took].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { rounds: ROUNDS, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1)! };
}
