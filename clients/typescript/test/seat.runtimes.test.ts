/**
 * The SDK's seat loop against the real server (its own process, on the machine's Postgres and
 * Redis), on Node, Bun and Deno: each scenario script runs under each runtime, and the test
 * checks the seats as the server counts them. seat.outage.runtimes.test.ts stops the server.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { runScenario, runtimes } from './support/runtimes.ts';
import { sleep, useLeasehold } from './support/server.ts';


const server = useLeasehold();

describe.each(runtimes)('the SDK on %s', (runtime, command) => {
  beforeEach(({ onTestFailed }) => onTestFailed(() => console.error(`server output:\n${server.output()}`)));

  it('keeps a seat for three lease lengths by its own heartbeats, then releases it', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 4 });
    const run = runScenario(command, 'keep', { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, FINGERPRINT: `keeper-${runtime}`, HOLD_MS: '12500' });
    const acquired = await run.next('acquired');
    const counted: { at: number; used: number }[] = [];
    while (!run.reports.some((r) => r.type === 'held')) {
      counted.push({ at: Date.now(), used: await server.seatsUsed(license.id) });
      await sleep(300);
    }
    const held = await run.next('held');
    // The script holds on until told, so no count above raced its release.
    counted.push({ at: Date.now(), used: await server.seatsUsed(license.id) });
    expect(held).toMatchObject({ state: 'active', sessionId: acquired.sessionId });
    // The server counted the one seat every time it was asked, never more than a lease apart,
    // until three lease lengths after the acquire.
    expect(new Set(counted.map((c) => c.used))).toEqual(new Set([1]));
    expect(Math.max(...counted.slice(1).map((c, i) => c.at - counted[i]!.at))).toBeLessThan(4_000);
    expect(counted.at(-1)!.at - acquired.at).toBeGreaterThan(12_000);
    const renewals = run.reports.filter((r) => r.type === 'renewed');
    expect(renewals.length).toBeGreaterThanOrEqual(6);
    expect(renewals.every((r) => r.sessionId === acquired.sessionId && !r.reacquired)).toBe(true);
    expect(held.exp - acquired.exp).toBeGreaterThanOrEqual(8);
    expect(run.reports.filter((r) => r.type === 'offline' || r.type === 'lost')).toEqual([]);
    run.endInput();
    await run.next('released');
    expect((await run.exited).code).toBe(0);
    expect(await server.seatsUsed(license.id)).toBe(0);
  }, 60_000);

  it('refuses offline, each with its code, a lease signed by another key, a tampered claim, another fingerprint, a replayed verdict, and one kind of document for another', async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const { requestCertificate: issued } = await server.admin(
      `mutation($input: RequestCertificateInput!) { requestCertificate(input: $input) { ... on CertificateIssued { certificate { token } } } }`,
      { input: { licenseKey: license.key, fingerprint: `checker-${runtime}` } },
    );
    const run = runScenario(command, 'refusals', {
      LEASEHOLD_URL: server.url,
      LICENSE_KEY: license.key,
      FINGERPRINT: `checker-${runtime}`,
      CERTIFICATE: issued.certificate.token,
    });
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
      certificateAsLease: 'TOKEN_TYPE_MISMATCH',
      leaseAsCertificate: 'TOKEN_TYPE_MISMATCH',
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
