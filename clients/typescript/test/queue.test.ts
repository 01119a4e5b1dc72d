/**
 * Waiting in line with the SDK against the real server process: `acquire({ queue: true })` on a
 * full license resolves with a seat once one frees, in the order the clients asked, and a client
 * that stops waiting gives its place up.
 */
import { Leasehold, LeaseholdError, type QueueTicket, type Seat } from '@leasehold/client';
import { describe, expect, it } from 'vitest';
import { useLeasehold } from './support/server.ts';

const server = useLeasehold();
const queued = { queue: { enabled: true, maxLength: 100, claimSeconds: 30 } };

describe('acquire({ queue: true })', () => {
  it('waits in line on a full license and resolves with a verified seat, first in line first, as seats free', async () => {
    const license = await server.createLicense({ maxSeats: 1, ...queued });
    const lh = new Leasehold({ url: server.url, licenseKey: license.key });
    const holder = await lh.acquire({ fingerprint: 'holder' });

    const places: Record<string, number[]> = { first: [], second: [] };
    const granted: string[] = [];
    const wait = (fingerprint: 'first' | 'second') =>
      lh
        .acquire({ fingerprint, queue: true, onQueued: (ticket: QueueTicket) => places[fingerprint]!.push(ticket.position) })
        .then((seat) => (granted.push(fingerprint), seat));
    const first = wait('first');
    await expect.poll(() => places.first!.length).toBeGreaterThan(0);
    const second = wait('second');
    await expect.poll(() => places.second!.length).toBeGreaterThan(0);
    expect(places.first![0]).toBe(1);
    expect(places.second![0]).toBe(2);

    await holder.release();
    const firstSeat: Seat = await first;
    expect(firstSeat.session.fingerprint).toBe('first');
    expect(firstSeat.lease.claims).toMatchObject({ fp: 'first', lic: license.id });
    expect(granted).toEqual(['first']);
    // The second moved up behind it.
    await expect.poll(() => places.second!.at(-1)).toBe(1);

    await firstSeat.release();
    expect((await second).session.fingerprint).toBe('second');
    expect(granted).toEqual(['first', 'second']);
    expect(await server.seatsUsed(license.id)).toBe(1);
  }, 30_000);

  it('is refused as before where the license has no queue, and gives its place up when aborted', async () => {
    const plain = await server.createLicense({ maxSeats: 1 });
    const lhPlain = new Leasehold({ url: server.url, licenseKey: plain.key });
    await lhPlain.acquire({ fingerprint: 'a' });
    await expect(lhPlain.acquire({ fingerprint: 'b', queue: true })).rejects.toMatchObject({ code: 'NO_SEATS_AVAILABLE' });

    const license = await server.createLicense({ maxSeats: 1, ...queued });
    const lh = new Leasehold({ url: server.url, licenseKey: license.key });
    const holder = await lh.acquire({ fingerprint: 'holder' });
    const quitter = new AbortController();
    let inLine = false;
    const abandoned = lh.acquire({ fingerprint: 'quitter', queue: true, signal: quitter.signal, onQueued: () => (inLine = true) });
    await expect.poll(() => inLine).toBe(true);
    const patient = lh.acquire({ fingerprint: 'patient', queue: true });
    quitter.abort();
    const error = await abandoned.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LeaseholdError);
    expect(error).toMatchObject({ code: 'ABORTED' });

    // The quitter left the line: the freed seat goes to the one behind it.
    await holder.release();
    expect((await patient).session.fingerprint).toBe('patient');
  }, 30_000);
});
