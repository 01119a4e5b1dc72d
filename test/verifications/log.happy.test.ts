/**
 * The verification log: a scripted mix of 1,000 validations and refused seat operations, from
 * several addresses and origins, reaches Postgres in batches and reads back exactly: each
 * entry's result, operation, address, origin and fingerprint, the counts per result, the
 * filter by result, and pages that neither skip nor repeat an entry. Granted seats and keys
 * this server never issued are not logged. Entries are dropped after 7 days.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { dropOldVerifications } from '../../src/services/verifications/log.ts';
import { DAY, movableClock } from '../support/clock.ts';
import { acquire, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { createLicenseAs } from '../support/webhooks.ts';

const clock = movableClock();
let app: App;
beforeAll(async () => {
  app = await startApp({}, { clock });
});
afterAll(() => app.close());

const VALIDATE = `mutation($input: ValidateLicenseInput!) { validateLicense(input: $input) { code } }`;
const ACQUIRE = `mutation($input: AcquireSeatInput!) { acquireSeat(input: $input) { __typename ... on Error { code } } }`;
const HEARTBEAT = `mutation($input: HeartbeatSeatInput!) { heartbeatSeat(input: $input) { __typename ... on Error { code } } }`;
const RELEASE = `mutation($input: ReleaseSeatInput!) { releaseSeat(input: $input) { __typename ... on Error { code } } }`;
const LOG = `query($licenseId: ID!, $from: DateTime!, $to: DateTime!, $result: ValidationCode, $first: Int, $after: String) {
  licenseVerifications(licenseId: $licenseId, from: $from, to: $to, result: $result, first: $first, after: $after) {
    edges { cursor node { at operation result address origin fingerprint } } pageInfo { hasNextPage endCursor } } }`;

interface Entry {
  at: string;
  operation: string;
  result: string;
  address: string | null;
  origin: string | null;
  fingerprint: string | null;
}

/** A GraphQL call as a client at `address` makes it, with the Origin header a browser would send. */
async function call(query: string, variables: Record<string, unknown>, from: { address: string; origin?: string; token?: string }) {
  const response = await app.yoga.fetch(
    'http://leasehold.test/graphql',
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(from.origin ? { origin: from.origin } : {}),
        ...(from.token ? { authorization: `Bearer ${from.token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    },
    { remoteAddress: from.address },
  );
  return (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
}

/** Runs the calls in waves, as many clients at once as a loaded test machine answers in time. */
async function inWaves<T>(calls: (() => Promise<T>)[], size = 100): Promise<T[]> {
  const answers: T[] = [];
  for (let i = 0; i < calls.length; i += size) answers.push(...(await Promise.all(calls.slice(i, i + size).map((c) => c()))));
  return answers;
}

describe('the verification log of a scripted mix of 1,000 checks and refusals', () => {
  let token: string;
  let license: { id: string; key: string };
  const started = new Date(Date.now() - 1000).toISOString();
  const until = () => new Date(Date.now() + 1000).toISOString();
  /** What the script expects, entry by entry (in no order). */
  const expected: Omit<Entry, 'at'>[] = [];

  beforeAll(async () => {
    const org = await seedOrganization(app);
    token = org.token;
    license = await createLicenseAs(app, token, { maxSeats: 2, features: ['export'] });
    // Two seats taken: granted seats are not verification log entries.
    for (const fp of ['holder-1', 'holder-2']) expect((await acquire(app, license.key, fp)).__typename).toBe('SeatGranted');

    const calls: (() => Promise<unknown>)[] = [];
    const add = (entry: Omit<Entry, 'at'>, run: () => Promise<{ data?: Record<string, any> }>, answer: string) => {
      expected.push(entry);
      calls.push(async () => {
        const r = await run();
        const value = Object.values(r.data ?? {})[0] as { code?: string; __typename?: string } | undefined;
        expect(value?.code ?? value?.__typename, JSON.stringify(r)).toBe(answer);
      });
    };
    const address = (i: number) => `203.0.113.${(i % 4) + 1}`;
    const origin = (i: number) => (i % 5 === 0 ? 'https://app.example.com' : null);
    const from = (i: number) => ({ address: address(i), ...(origin(i) ? { origin: origin(i)! } : {}) });

    for (let i = 0; i < 400; i++) {
      const fingerprint = i % 2 === 0 ? 'holder-1' : null;
      add(
        { operation: 'validateLicense', result: 'VALID', address: address(i), origin: origin(i), fingerprint },
        () => call(VALIDATE, { input: { licenseKey: license.key, ...(fingerprint ? { fingerprint } : {}) } }, from(i)),
        'VALID',
      );
    }
    for (let i = 0; i < 200; i++) {
      add(
        {
          operation: 'validateLicense',
          result: 'FINGERPRINT_NOT_ACTIVATED',
          address: address(i),
          origin: origin(i),
          fingerprint: `stranger-${i}`,
        },
        () => call(VALIDATE, { input: { licenseKey: license.key, fingerprint: `stranger-${i}` } }, from(i)),
        'FINGERPRINT_NOT_ACTIVATED',
      );
    }
    for (let i = 0; i < 100; i++) {
      add(
        { operation: 'validateLicense', result: 'ENTITLEMENTS_MISSING', address: address(i), origin: origin(i), fingerprint: null },
        () => call(VALIDATE, { input: { licenseKey: license.key, entitlements: ['export', 'render'] } }, from(i)),
        'ENTITLEMENTS_MISSING',
      );
    }
    for (let i = 0; i < 200; i++) {
      add(
        { operation: 'acquire', result: 'NO_SEATS_AVAILABLE', address: address(i), origin: origin(i), fingerprint: `latecomer-${i}` },
        () => call(ACQUIRE, { input: { licenseKey: license.key, fingerprint: `latecomer-${i}` } }, from(i)),
        'NO_SEATS_AVAILABLE',
      );
    }
    for (let i = 0; i < 50; i++) {
      add(
        { operation: 'heartbeat', result: 'SESSION_NOT_FOUND', address: address(i), origin: origin(i), fingerprint: null },
        () => call(HEARTBEAT, { input: { licenseKey: license.key, sessionId: `ses_${'0'.repeat(21)}${i % 10}` } }, from(i)),
        'SESSION_NOT_FOUND',
      );
      add(
        { operation: 'release', result: 'SESSION_NOT_FOUND', address: address(i), origin: origin(i), fingerprint: null },
        () => call(RELEASE, { input: { licenseKey: license.key, sessionId: `ses_${'1'.repeat(21)}${i % 10}` } }, from(i)),
        'SESSION_NOT_FOUND',
      );
    }
    expect(calls).toHaveLength(1000);
    // Shuffled, so validations and refusals interleave as a live server's would.
    for (let i = calls.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [calls[i], calls[j]] = [calls[j]!, calls[i]!];
    }
    await inWaves(calls);
    // A key this server never issued has no license to log against.
    expect((await call(VALIDATE, { input: { licenseKey: 'LH-NOT-A-KEY' } }, { address: '198.51.100.9' })).data?.validateLicense.code).toBe(
      'NOT_FOUND',
    );
    await app.services.verifications.flush();
  });

  async function readAll(variables: Record<string, unknown> = {}, first = 100) {
    const entries: { cursor: string; node: Entry }[] = [];
    let after: string | null = null;
    for (;;) {
      const r = await call(
        LOG,
        { licenseId: license.id, from: started, to: until(), first, after, ...variables },
        { address: '127.0.0.1', token },
      );
      expect(r.errors).toBeUndefined();
      const page = r.data!.licenseVerifications as {
        edges: { cursor: string; node: Entry }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
      entries.push(...page.edges);
      if (!page.pageInfo.hasNextPage) return entries;
      after = page.pageInfo.endCursor;
    }
  }

  const withoutTime = ({ at: _at, ...rest }: Entry) => rest;
  const key = (e: Omit<Entry, 'at'>) => JSON.stringify([e.operation, e.result, e.address, e.origin, e.fingerprint]);

  it('holds exactly the scripted entries, each with its result, operation, address, origin and fingerprint', async () => {
    const entries = await readAll();
    expect(entries).toHaveLength(1000);
    expect(entries.map((e) => key(withoutTime(e.node))).sort()).toEqual(expected.map(key).sort());
  });

  it('counts each result as the script made it', async () => {
    const counts: Record<string, number> = {};
    for (const { node } of await readAll()) counts[node.result] = (counts[node.result] ?? 0) + 1;
    expect(counts).toEqual({
      VALID: 400,
      FINGERPRINT_NOT_ACTIVATED: 200,
      ENTITLEMENTS_MISSING: 100,
      NO_SEATS_AVAILABLE: 200,
      SESSION_NOT_FOUND: 100,
    });
    const byAddress: Record<string, number> = {};
    for (const { node } of await readAll()) byAddress[node.address!] = (byAddress[node.address!] ?? 0) + 1;
    // The mix's 50 heartbeats and 50 releases do not divide by the four addresses evenly.
    expect(byAddress).toEqual({ '203.0.113.1': 251, '203.0.113.2': 251, '203.0.113.3': 249, '203.0.113.4': 249 });
  });

  it('filters by result', async () => {
    const refused = await readAll({ result: 'NO_SEATS_AVAILABLE' });
    expect(refused).toHaveLength(200);
    expect(refused.every((e) => e.node.operation === 'acquire' && e.node.fingerprint?.startsWith('latecomer-'))).toBe(true);
  });

  it('pages newest first without skipping or repeating an entry', async () => {
    const entries = await readAll({}, 37);
    expect(new Set(entries.map((e) => e.cursor)).size).toBe(1000);
    const times = entries.map((e) => Date.parse(e.node.at));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });
});

it('drops entries older than 7 days and keeps the newer ones', async () => {
  const org = await seedOrganization(app);
  const license = await createLicenseAs(app, org.token, { maxSeats: 1 });
  const validateAt = async (moment: number, address: string) => {
    clock.freeze(moment);
    await call(VALIDATE, { input: { licenseKey: license.key } }, { address });
    clock.reset();
  };
  await validateAt(Date.now() - 8 * DAY, '192.0.2.1');
  await validateAt(Date.now() - 6 * DAY, '192.0.2.2');
  await app.services.verifications.flush();
  expect(await dropOldVerifications(app.services)).toBeGreaterThanOrEqual(1);
  const r = await call(
    LOG,
    { licenseId: license.id, from: new Date(Date.now() - 30 * DAY).toISOString(), to: new Date().toISOString() },
    { address: '127.0.0.1', token: org.token },
  );
  expect(r.data?.licenseVerifications.edges.map((e: { node: Entry }) => e.node.address)).toEqual(['192.0.2.2']);
});
