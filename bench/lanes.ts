/**
 * The lanes: what one worker of the load generator does per step, for the app and the floors.
 * Every reply is checked for the success shape (a marker string), so that a lane answering
 * errors fast cannot pass for a fast lane.
 */
import type { Client } from './load.ts';
import { ACQUIRE, BENCH_METER, RELEASE, type Seed } from './setup.ts';

export type Step = (client: Client, worker: number) => Promise<void>;

/** Round-robin over prebuilt bodies, one per seeded session. */
function roundRobin(bodies: string[], path: string, marker: string): Step {
  let next = 0;
  return async (client) => {
    await client.post('heartbeat', path, bodies[next++ % bodies.length]!, marker);
  };
}

const HEARTBEAT = `mutation($i: HeartbeatSeatInput!) { heartbeatSeat(input: $i) { __typename ... on SeatRenewed { lease { token expiresAt } } } }`;
/** The SDK's usual heartbeat: the session's new expiry, no lease, so no signature. */
const UNSIGNED_HEARTBEAT = `mutation($i: HeartbeatSeatInput!) { heartbeatSeat(input: $i) { __typename ... on SeatRenewed { session { expiresAt } } } }`;
const FLOOR_HEARTBEAT = `mutation($i: HeartbeatInput!) { heartbeat(input: $i) { expiresAt fingerprint } }`;
const FLOOR_SIGNED_HEARTBEAT = `mutation($i: HeartbeatInput!) { signedHeartbeat(input: $i) { expiresAt fingerprint token } }`;

/** The app's heartbeat, asking for a signed lease (`signed`, as the bench always did) or not. */
export function appHeartbeat(seed: Seed, options: { signed: boolean } = { signed: true }): Step {
  const query = options.signed ? HEARTBEAT : UNSIGNED_HEARTBEAT;
  const bodies = seed.sessionIds.map((sessionId) =>
    JSON.stringify({ query, variables: { i: { licenseKey: seed.licenseKey, sessionId } } }),
  );
  return roundRobin(bodies, '/graphql', options.signed ? '"token":"ey' : '"SeatRenewed"');
}

export function bareHeartbeat(seed: Seed): Step {
  const bodies = seed.sessionIds.map((sessionId) => JSON.stringify({ licenseId: seed.licenseId, sessionId }));
  return roundRobin(bodies, '/heartbeat', '"expiresAt"');
}

export function yogaHeartbeat(seed: Seed): Step {
  const bodies = seed.sessionIds.map((sessionId) =>
    JSON.stringify({ query: FLOOR_HEARTBEAT, variables: { i: { licenseId: seed.licenseId, sessionId } } }),
  );
  return roundRobin(bodies, '/graphql', '"heartbeat":{');
}

/** The Yoga floor's heartbeat that also signs a lease, as the app's does. */
export function yogaSignedHeartbeat(seed: Seed): Step {
  const bodies = seed.sessionIds.map((sessionId) =>
    JSON.stringify({ query: FLOOR_SIGNED_HEARTBEAT, variables: { i: { licenseId: seed.licenseId, sessionId } } }),
  );
  return roundRobin(bodies, '/graphql', '"token":"ey');
}

/** Acquire with a fingerprint never used before, then release that session: two requests a step. */
export function appAcquireRelease(seed: Seed, runTag: string): Step {
  let counter = 0;
  return async (client, worker) => {
    const fingerprint = `bench-${runTag}-${worker}-${counter++}`;
    const acquired = await client.post(
      'acquire',
      '/graphql',
      JSON.stringify({ query: ACQUIRE, variables: { i: { licenseKey: seed.licenseKey, fingerprint } } }),
      '"SeatGranted"',
    );
    const sessionId = (JSON.parse(acquired) as { data: { acquireSeat: { session: { id: string } } } }).data.acquireSeat.session.id;
    await client.post(
      'release',
      '/graphql',
      JSON.stringify({ query: RELEASE, variables: { i: { licenseKey: seed.licenseKey, sessionId } } }),
      '"SeatReleased"',
    );
  };
}

const RECORD_USAGE = `mutation($i: RecordUsageInput!) { recordUsage(input: $i) { __typename ... on UsageRecorded { meter { used remaining } } } }`;

/** One unit from the seeded license's meter under a key never used before: every step counts. */
export function appRecordUsage(seed: Seed, runTag: string): Step {
  let counter = 0;
  return async (client, worker) => {
    const input = { licenseKey: seed.licenseKey, meter: BENCH_METER, amount: 1, idempotencyKey: `${runTag}-${worker}-${counter++}` };
    await client.post('recordUsage', '/graphql', JSON.stringify({ query: RECORD_USAGE, variables: { i: input } }), '"UsageRecorded"');
  };
}
