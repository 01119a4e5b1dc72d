/**
 * The SDK in this process against the real server process: refusals and their codes, the
 * heartbeat's signed-lease cadence, a revoked seat staying lost, signed verdicts, and the
 * requests themselves (persisted operations, the app's own fetch).
 */
import { Leasehold, LeaseholdError, type Fetch, type Seat } from '@leasehold/client';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/process.ts';
import { sleep, useLeasehold } from './support/server.ts';


const server = useLeasehold();

/** A fetch that records what the SDK sent: the URL and the GraphQL body. */
function recordingFetch() {
  const sent: { url: string; body: Record<string, any> | undefined }[] = [];
  const fetch: Fetch = (url, init) => {
    sent.push({ url, body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined });
    return globalThis.fetch(url, init);
  };
  return { fetch, sent };
}

const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (error: LeaseholdError) => error);

describe('acquire', () => {
  it('refuses with the license error codes, and NO_SEATS_AVAILABLE with the seat count', async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const lh = new Leasehold({ url: server.url, licenseKey: license.key });
    const seat = await lh.acquire({ fingerprint: 'first' });

    const full = await refusal(lh.acquire({ fingerprint: 'second' }));
    expect(full).toBeInstanceOf(LeaseholdError);
    expect(full).toMatchObject({ code: 'NO_SEATS_AVAILABLE', retryable: false, seats: { used: 1, max: 1 } });

    expect(await refusal(new Leasehold({ url: server.url, licenseKey: 'lhk_unknown' }).acquire({ fingerprint: 'x' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refusal(lh.acquire({ fingerprint: 'f'.repeat(300) }))).toMatchObject({ code: 'BAD_USER_INPUT' });

    await server.admin(`mutation($id: ID!) { suspendLicense(input: { id: $id }) { __typename } }`, { id: license.id });
    expect(await refusal(lh.acquire({ fingerprint: 'third' }))).toMatchObject({ code: 'SUSPENDED' });
    await seat.release();
  });

  it('gives the same session again to a machine that already holds a seat', async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const lh = new Leasehold({ url: server.url, licenseKey: license.key });
    const [a, b] = [await lh.acquire({ fingerprint: 'twice' }), await lh.acquire({ fingerprint: 'twice' })];
    expect(b.session.id).toBe(a.session.id);
    expect(await server.seatsUsed(license.id)).toBe(1);
    await Promise.all([a.release(), b.release()]);
  });

  it('answers NETWORK_ERROR, retryable, when nothing listens at the URL', async () => {
    const lh = new Leasehold({ url: `http://127.0.0.1:${await freePort()}`, licenseKey: 'lhk_x' });
    expect(await refusal(lh.acquire({ fingerprint: 'x' }))).toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
  });
});

describe('certificate', () => {
  it('returns a verified certificate for the machine, and refuses a machine past maxMachines', async () => {
    const license = await server.createLicense({ maxSeats: 1, maxMachines: 1 });
    const lh = new Leasehold({ url: server.url, licenseKey: license.key });
    const certificate = await lh.certificate({ fingerprint: 'offline-laptop' });
    expect(certificate.claims).toMatchObject({ sub: license.id, aud: license.id, fp: 'offline-laptop' });
    expect(certificate.expiresAt.getTime()).toBe(certificate.claims.exp * 1000);
    expect(await refusal(lh.certificate({ fingerprint: 'second-laptop' }))).toMatchObject({ code: 'TOO_MANY_MACHINES' });
    // The certified machine is the license's one machine: it may take the seat, another may not.
    expect(await refusal(lh.acquire({ fingerprint: 'second-laptop' }))).toMatchObject({ code: 'TOO_MANY_MACHINES' });
    await (await lh.acquire({ fingerprint: 'offline-laptop' })).release();
  });
});

describe('heartbeats', () => {
  async function heartbeatsOver(ms: number, leaseSeconds: number, options: { offlineGraceSeconds?: number } = {}) {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds });
    const { fetch, sent } = recordingFetch();
    const seat = await new Leasehold({ url: server.url, licenseKey: license.key, fetch, ...options }).acquire({ fingerprint: 'metronome' });
    // How long the lease held still ran right after each heartbeat.
    const cover: number[] = [];
    seat.on('renewed', ({ lease }) => cover.push(lease.expiresAt.getTime() - Date.now()));
    await sleep(ms);
    await seat.release();
    const names = sent.map((s) => s.body?.operationName).filter((name) => name?.startsWith('HeartbeatSeat'));
    return { names, cover };
  }

  it('asks for a freshly signed lease only when the one held would not cover half the lease of offline grace', async () => {
    const { names, cover } = await heartbeatsOver(9_000, 4);
    expect(names.length).toBeGreaterThanOrEqual(5);
    // Some heartbeats went unsigned (the saving), and after every one the lease held still
    // covered the grace of 2 s (less a second: lease times are whole seconds).
    expect(names.filter((n) => n === 'HeartbeatSeat').length).toBeGreaterThanOrEqual(2);
    expect(names.filter((n) => n === 'HeartbeatSeatWithLease').length).toBeGreaterThanOrEqual(2);
    expect(Math.min(...cover)).toBeGreaterThan(2_000 - 1_000);
  }, 30_000);

  it('signs every heartbeat when the grace asked for is the whole lease', async () => {
    const { names } = await heartbeatsOver(4_000, 3, { offlineGraceSeconds: 3 });
    expect(names.length).toBeGreaterThanOrEqual(3);
    expect(new Set(names)).toEqual(new Set(['HeartbeatSeatWithLease']));
  }, 30_000);

  it('is lost, and does not take the seat back, when an operator ends the session', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 2 });
    const seat: Seat = await new Leasehold({ url: server.url, licenseKey: license.key }).acquire({ fingerprint: 'revoked' });
    const lost = new Promise<LeaseholdError>((resolve) => seat.on('lost', ({ error }) => resolve(error)));
    await server.admin(`mutation($id: ID!) { revokeSession(input: { id: $id }) { __typename } }`, { id: seat.session.id });
    expect(await lost).toMatchObject({ code: 'SESSION_EXPIRED' });
    expect(seat.state).toBe('lost');
    await sleep(3_000);
    expect(await server.seatsUsed(license.id)).toBe(0);
    await seat.release();
  }, 30_000);
});

describe('validate', () => {
  it('returns the signed verdict, its nonce checked', async () => {
    const license = await server.createLicense({ maxSeats: 1, features: ['export'] });
    const lh = new Leasehold({ url: server.url, licenseKey: license.key });
    const seat = await lh.acquire({ fingerprint: 'validator' });
    const verdict = await lh.validate({ fingerprint: 'validator', nonce: 'n-1' });
    expect(verdict).toMatchObject({ valid: true, code: 'VALID', nonce: 'n-1', claims: { nonce: 'n-1', fp: 'validator', sub: license.id } });
    expect(await lh.validate({ fingerprint: 'validator', entitlements: ['render'] })).toMatchObject({ valid: false, code: 'ENTITLEMENTS_MISSING' });
    expect(await lh.validate({ fingerprint: 'never-seen' })).toMatchObject({ valid: false, code: 'FINGERPRINT_NOT_ACTIVATED' });
    // A random nonce when none is given: two answers are never interchangeable.
    const [a, b] = await Promise.all([lh.validate(), lh.validate()]);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.claims?.nonce).toBe(a.nonce);
    await seat.release();
  });

  it('answers an unknown key NOT_FOUND (which the server signs nothing for), not a throw', async () => {
    expect(await new Leasehold({ url: server.url, licenseKey: 'lhk_unknown' }).validate()).toMatchObject({ valid: false, code: 'NOT_FOUND', token: undefined });
  });
});

describe('requests', () => {
  it("go through the app's own fetch, the JWKS included", async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const { fetch, sent } = recordingFetch();
    const seat = await new Leasehold({ url: server.url, licenseKey: license.key, fetch }).acquire({ fingerprint: 'electron' });
    expect(sent.map((s) => new URL(s.url).pathname)).toEqual(expect.arrayContaining(['/graphql', '/.well-known/jwks.json']));
    await seat.release();
  });

  it('name their documents by hash alone, which is all a server refusing other documents from them accepts', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 1 });
    const { fetch, sent } = recordingFetch();
    const lh = new Leasehold({ url: server.url, licenseKey: license.key, fetch });
    const seat = await lh.acquire({ fingerprint: 'hasher' });
    await new Promise((resolve) => seat.on('renewed', resolve));
    await lh.validate();
    await seat.release();
    const bodies = sent.flatMap((s) => (s.body ? [s.body] : []));
    expect(bodies.map((b) => b.operationName)).toEqual(expect.arrayContaining(['AcquireSeat', 'ValidateLicense', 'ReleaseSeat']));
    for (const body of bodies) {
      expect(body.query).toBeUndefined();
      expect(body.extensions.persistedQuery).toEqual({ version: 1, sha256Hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    }
  });
});

describe('requests to a server that does not know a hash', () => {
  const open = useLeasehold({ ANONYMOUS_OPERATIONS: 'any' });

  it('send the document itself, once asked, and from then on', async () => {
    const license = await open.createLicense({ maxSeats: 1 });
    const { fetch: recording, sent } = recordingFetch();
    // The hash of a document this server never heard of, as an SDK newer than the server would send.
    const fetch: Fetch = (url, init) => {
      const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
      if (body?.extensions?.persistedQuery) body.extensions.persistedQuery.sha256Hash = 'f'.repeat(64);
      return recording(url, body ? { ...init, body: JSON.stringify(body) } : init);
    };
    const lh = new Leasehold({ url: open.url, licenseKey: license.key, fetch });
    await (await lh.acquire({ fingerprint: 'newer-sdk' })).release();
    await (await lh.acquire({ fingerprint: 'newer-sdk' })).release();
    const acquires = sent.filter((s) => s.body?.operationName === 'AcquireSeat').map((s) => (s.body!.query ? 'document' : 'hash'));
    expect(acquires).toEqual(['hash', 'document', 'document']);
  });
});
