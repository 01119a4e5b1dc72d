/**
 * The SDK's seat loop against the real server (its own process, on the machine's Postgres and
 * Redis), on Node, Bun and Deno: each scenario script runs under each runtime, and the test
 * stops and starts the server around it and checks the seats as the server counts them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runScenario, runtimes } from './support/runtimes.ts';
import { startLeasehold, type LeaseholdServer } from './support/server.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: LeaseholdServer;
beforeAll(async () => {
  server = await startLeasehold();
}, 150_000);
afterAll(() => server?.close());

describe.each(runtimes)('the SDK on %s', (runtime, command) => {
  beforeEach(async ({ onTestFailed }) => {
    onTestFailed(() => console.error(`server output:\n${server.output()}`));
    await server.start(); // a failed test may have left it stopped
  }, 150_000);

  it('keeps a seat for three lease lengths by its own heartbeats, then releases it', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 2 });
    const run = runScenario(command, 'keep', { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, FINGERPRINT: `keeper-${runtime}`, HOLD_MS: '6500' });
    const acquired = await run.next('acquired');
    const counted: number[] = [];
    while (!run.reports.some((r) => r.type === 'held')) {
      counted.push(await server.seatsUsed(license.id));
      await sleep(400);
    }
    const held = await run.next('held');
    expect(held).toMatchObject({ state: 'active', sessionId: acquired.sessionId });
    // Three lease lengths later the server still counts the one seat, every time it was asked.
    expect(counted.length).toBeGreaterThanOrEqual(10);
    expect(new Set(counted)).toEqual(new Set([1]));
    const renewals = run.reports.filter((r) => r.type === 'renewed');
    expect(renewals.length).toBeGreaterThanOrEqual(6);
    expect(renewals.every((r) => r.sessionId === acquired.sessionId && !r.reacquired)).toBe(true);
    expect(held.exp - acquired.exp).toBeGreaterThanOrEqual(5);
    expect(run.reports.filter((r) => r.type === 'offline' || r.type === 'lost')).toEqual([]);
    await run.next('released');
    expect((await run.exited).code).toBe(0);
    expect(await server.seatsUsed(license.id)).toBe(0);
  }, 60_000);

  it('goes offline when the server stops, keeps its verified lease until it expires, then is lost; comes back when the server starts', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 2 });
    const run = runScenario(command, 'outage', { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, FINGERPRINT: `traveller-${runtime}` });
    const acquired = await run.next('acquired');
    await sleep(1000);
    const stoppedAt = Date.now();
    await server.stop();

    const offline = await run.next('offline');
    expect(offline).toMatchObject({ code: 'NETWORK_ERROR', state: 'offline', lease: { ok: true } });
    expect(offline.at).toBeGreaterThanOrEqual(stoppedAt);
    // The seat holds until its last verified lease ends, no longer.
    expect(Math.abs(offline.until - offline.exp * 1000)).toBeLessThan(1_100);

    const lost = await run.next('lost');
    expect(lost).toMatchObject({ code: 'LEASE_EXPIRED', state: 'lost', exp: offline.exp });
    expect(lost.at).toBeGreaterThanOrEqual(offline.exp * 1000 - 250);
    expect(lost.at).toBeLessThan(offline.exp * 1000 + 1_100);

    // Past the session's end on the server too, so coming back means acquiring again.
    await sleep(2_000);
    await server.start();
    const back = await run.next('back');
    expect(back).toMatchObject({ state: 'active', lease: { ok: true } });
    expect(back.sessionId).not.toBe(acquired.sessionId);
    await run.next('released');
    expect((await run.exited).code).toBe(0);
    expect(await server.seatsUsed(license.id)).toBe(0);
  }, 90_000);

  it('refuses offline, each with its code, a lease signed by another key, a tampered claim, another fingerprint and a replayed verdict', async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const run = runScenario(command, 'refusals', { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, FINGERPRINT: `checker-${runtime}` });
    const { type: _type, at: _at, ...outcomes } = await run.next('outcomes');
    expect(outcomes).toEqual({
      genuineLease: 'ACCEPTED',
      genuineVerdict: 'ACCEPTED',
      otherKeyOwnKid: 'SIGNATURE_INVALID',
      otherKeySameKid: 'SIGNATURE_INVALID',
      tamperedClaim: 'SIGNATURE_INVALID',
      otherFingerprint: 'FINGERPRINT_MISMATCH',
      otherLicense: 'LICENSE_MISMATCH',
      otherSession: 'SESSION_MISMATCH',
      replayedVerdict: 'NONCE_MISMATCH',
      verdictAsLease: 'TOKEN_TYPE_MISMATCH',
      leaseAsVerdict: 'TOKEN_TYPE_MISMATCH',
      expiredLease: 'TOKEN_EXPIRED',
      otherIssuer: 'ISSUER_MISMATCH',
      notAToken: 'TOKEN_MALFORMED',
    });
    expect((await run.exited).code).toBe(0);
  }, 60_000);

  it('grants exactly 10 seats to 200 SDK clients racing for them, and NO_SEATS_AVAILABLE to the other 190', async () => {
    const license = await server.createLicense({ maxSeats: 10 });
    const run = runScenario(command, 'race', { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, COUNT: '200' });
    const raced = await run.next('raced', 60_000);
    expect(raced).toMatchObject({ granted: 10, sessions: 10, refusals: { NO_SEATS_AVAILABLE: 190 } });
    expect(await server.seatsUsed(license.id)).toBe(10);
    run.endInput();
    await run.next('released');
    expect((await run.exited).code).toBe(0);
    expect(await server.seatsUsed(license.id)).toBe(0);
  }, 90_000);

  it('resolves release() while the server is down; the seat then expires on the server by itself', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 2 });
    const run = runScenario(command, 'release-down', { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, FINGERPRINT: `leaver-${runtime}` });
    const acquired = await run.next('acquired');
    await server.stop();
    const released = await run.next('released');
    expect(released).toMatchObject({ outcome: 'resolved', again: 'resolved', state: 'released' });
    expect(released.ms).toBeLessThan(3_500);
    expect((await run.exited).code).toBe(0);

    await server.start();
    await sleep(Math.max(0, acquired.expiresAt - Date.now()));
    expect(await server.seatsUsed(license.id)).toBe(0);
    // Ended by its expiry (recorded by the server's sweeper), not by a release that never arrived.
    const deadline = Date.now() + 10_000;
    let session: { endReason: string | null; endedAt: string | null } | undefined;
    while (Date.now() < deadline) {
      ({ session } = await server.admin(`query($id: ID!) { session(id: $id) { endReason endedAt } }`, { id: acquired.sessionId }));
      if (session?.endReason) break;
      await sleep(250);
    }
    expect(session).toEqual({ endReason: 'EXPIRED', endedAt: new Date(acquired.expiresAt).toISOString() });
  }, 90_000);

  it('releases the seat when the process is told to stop, then stops as the signal says', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 120 });
    const run = runScenario(command, 'exit-hook', { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, FINGERPRINT: `quitter-${runtime}` });
    const acquired = await run.next('acquired');
    expect(await server.seatsUsed(license.id)).toBe(1);
    run.signal('SIGTERM');
    const exited = await run.exited;
    expect(exited.signal === 'SIGTERM' || exited.code === 143, JSON.stringify(exited)).toBe(true);
    // Long before the two-minute lease would have ended it.
    expect(await server.seatsUsed(license.id)).toBe(0);
    const { session } = await server.admin(`query($id: ID!) { session(id: $id) { endReason } }`, { id: acquired.sessionId });
    expect(session.endReason).toBe('RELEASED');
  }, 60_000);
});
