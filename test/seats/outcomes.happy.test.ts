/**
 * The seam where seat outcomes are known: every seat operation reports exactly one outcome to
 * `services.seatOutcomes`, successes by kind and refusals with their code, with the caller's
 * address and origin, so metering, utilization and the verification log listen in one place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import type { SeatOutcome } from '../../src/services/context.ts';
import { ACQUIRE, HEARTBEAT, RELEASE, createLicense, startApp } from '../support/harness.ts';

let app: App;
beforeAll(async () => {
  app = await startApp({ RATE_LIMITS: JSON.stringify({ anonymous: '1000000/min', license: '3/min' }) });
});
afterAll(() => app.close());

/** Calls one seat operation from a browser-like caller and answers the outcomes it reported. */
async function reported(query: string, input: Record<string, unknown>, origin = 'https://app.example') {
  const seen: SeatOutcome[] = [];
  const stop = app.services.seatOutcomes.listen((outcome) => seen.push(outcome));
  try {
    const response = await app.yoga.fetch(
      'http://leasehold.test/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ query, variables: { input } }) },
      { remoteAddress: '203.0.113.7' },
    );
    const body = (await response.json()) as { data?: Record<string, any> };
    return { seen, answer: body.data && Object.values(body.data)[0] };
  } finally {
    stop();
  }
}

describe('seat outcomes', () => {
  it('reports a grant, a renewal and a release, each once, with the license, the machine and the caller', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const granted = await reported(ACQUIRE, { licenseKey: license.key, fingerprint: 'outcome-1' });
    expect(granted.seen).toHaveLength(1);
    expect(granted.seen[0]).toMatchObject({
      operation: 'acquire',
      kind: 'granted',
      renewed: false,
      overage: false,
      sessionId: granted.answer.session.id,
      seats: { used: 1, max: 1 },
      licenseId: license.id,
      fingerprint: 'outcome-1',
      caller: { clientIp: '203.0.113.7', origin: 'https://app.example' },
    });
    expect(granted.seen[0]!.orgId).toMatch(/^org_/);

    const renewed = await reported(HEARTBEAT, { licenseKey: license.key, sessionId: granted.answer.session.id });
    expect(renewed.seen).toEqual([
      expect.objectContaining({ operation: 'heartbeat', kind: 'renewed', sessionId: granted.answer.session.id, fingerprint: 'outcome-1' }),
    ]);
    const released = await reported(RELEASE, { licenseKey: license.key, sessionId: granted.answer.session.id });
    expect(released.seen).toEqual([
      expect.objectContaining({ operation: 'release', kind: 'released', seats: expect.objectContaining({ used: 0 }) }),
    ]);
  });

  it('reports refusals with their code: no seat (with the count), an unknown key, an unknown session, the rate limit', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    await reported(ACQUIRE, { licenseKey: license.key, fingerprint: 'taken' });
    const full = await reported(ACQUIRE, { licenseKey: license.key, fingerprint: 'late' });
    expect(full.answer.__typename).toBe('NoSeatsAvailable');
    expect(full.seen).toEqual([
      expect.objectContaining({
        operation: 'acquire',
        kind: 'refused',
        code: 'NO_SEATS_AVAILABLE',
        licenseId: license.id,
        fingerprint: 'late',
        seats: expect.objectContaining({ used: 1, max: 1 }),
      }),
    ]);

    const unknownKey = await reported(ACQUIRE, { licenseKey: 'lhk_not-a-key', fingerprint: 'x' });
    expect(unknownKey.seen).toEqual([expect.objectContaining({ kind: 'refused', code: 'NOT_FOUND', licenseId: null, orgId: null })]);

    const unknownSession = await reported(HEARTBEAT, { licenseKey: license.key, sessionId: 'ses_0000000000000000000000' });
    expect(unknownSession.seen).toEqual([
      expect.objectContaining({ operation: 'heartbeat', kind: 'refused', code: 'SESSION_NOT_FOUND', licenseId: license.id }),
    ]);

    // 3 a minute for this license, and it took 3 above: the fourth call is refused before any seat is touched.
    const limited = await reported(ACQUIRE, { licenseKey: license.key, fingerprint: 'late' });
    expect(limited.seen).toEqual([
      expect.objectContaining({ operation: 'acquire', kind: 'refused', code: 'RATE_LIMITED', licenseId: license.id }),
    ]);
  });

  it('keeps the answer when a listener throws', async () => {
    const license = await createLicense(app, { maxSeats: 1 });
    const stop = app.services.seatOutcomes.listen(() => {
      throw new Error('a broken listener');
    });
    try {
      const { answer } = await reported(ACQUIRE, { licenseKey: license.key, fingerprint: 'sturdy' });
      expect(answer.__typename).toBe('SeatGranted');
    } finally {
      stop();
    }
  });
});
