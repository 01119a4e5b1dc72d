/**
 * The SDK's seat loop through server outages, on Node, Bun and Deno at once: the test stops the
 * real server (its own process) under a scenario script running on each runtime, and starts it
 * again on the same URL.
 */
import { beforeEach, expect, it } from 'vitest';
import { runScenario, runtimes, type Report, type ScriptRun } from './support/runtimes.ts';
import { sleep, useLeasehold } from './support/server.ts';

const server = useLeasehold();

beforeEach(async ({ onTestFailed }) => {
  onTestFailed(() => console.error(`server output:\n${server.output()}`));
  await server.start(); // a failed test may have left it stopped
}, 150_000);

interface Client {
  runtime: string;
  licenseId: string;
  run: ScriptRun;
  acquired: Report;
}

/** One license and one scenario script per runtime, each past its first report ("acquired"). */
function onEveryRuntime(scenario: string, fingerprint: string): Promise<Client[]> {
  return Promise.all(
    runtimes.map(async ([runtime, command]) => {
      const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 2 });
      const run = runScenario(command, scenario, { LEASEHOLD_URL: server.url, LICENSE_KEY: license.key, FINGERPRINT: `${fingerprint}-${runtime}` });
      return { runtime, licenseId: license.id, run, acquired: await run.next('acquired') };
    }),
  );
}

it('goes offline when the server stops, keeps its verified lease until it expires, then is lost; comes back when the server starts', async () => {
  const clients = await onEveryRuntime('outage', 'traveller');
  await sleep(1000);
  const stoppedAt = Date.now();
  await server.stop();

  await Promise.all(
    clients.map(async ({ runtime, run }) => {
      const offline = await run.next('offline');
      expect(offline, runtime).toMatchObject({ code: 'NETWORK_ERROR', state: 'offline', lease: { ok: true } });
      expect(offline.at, runtime).toBeGreaterThanOrEqual(stoppedAt);
      // The seat holds until its last verified lease ends, no longer.
      expect(Math.abs(offline.until - offline.exp * 1000), runtime).toBeLessThan(1_100);

      const lost = await run.next('lost');
      expect(lost, runtime).toMatchObject({ code: 'LEASE_EXPIRED', state: 'lost', exp: offline.exp });
      expect(lost.at, runtime).toBeGreaterThanOrEqual(offline.exp * 1000 - 250);
      expect(lost.at, runtime).toBeLessThan(offline.exp * 1000 + 1_100);
    }),
  );

  // Past the sessions' end on the server too, so coming back means acquiring again.
  await sleep(2_000);
  await server.start();
  await Promise.all(
    clients.map(async ({ runtime, run, acquired, licenseId }) => {
      const back = await run.next('back');
      expect(back, runtime).toMatchObject({ state: 'active', lease: { ok: true } });
      expect(back.sessionId, runtime).not.toBe(acquired.sessionId);
      await run.next('released');
      expect((await run.exited).code, runtime).toBe(0);
      expect(await server.seatsUsed(licenseId), runtime).toBe(0);
    }),
  );
}, 90_000);

it('resolves release() while the server is down; the seat then expires on the server by itself', async () => {
  const clients = await onEveryRuntime('release-down', 'leaver');
  await server.stop();
  const expiries = await Promise.all(
    clients.map(async ({ runtime, run }) => {
      const released = await run.next('released');
      expect(released, runtime).toMatchObject({ outcome: 'resolved', again: 'resolved', state: 'released' });
      expect(released.ms, runtime).toBeLessThan(3_500);
      expect((await run.exited).code, runtime).toBe(0);
      return released.expiresAt as number;
    }),
  );

  await server.start();
  await Promise.all(
    clients.map(async ({ runtime, acquired, licenseId }, i) => {
      const expiresAt = expiries[i]!;
      await sleep(Math.max(0, expiresAt - Date.now()));
      expect(await server.seatsUsed(licenseId), runtime).toBe(0);
      // Ended by its expiry (recorded by the server's sweeper), not by a release that never arrived.
      const deadline = Date.now() + 10_000;
      let session: { endReason: string | null; endedAt: string | null } | undefined;
      while (Date.now() < deadline) {
        ({ session } = await server.admin(`query($id: ID!) { session(id: $id) { endReason endedAt } }`, { id: acquired.sessionId }));
        if (session?.endReason) break;
        await sleep(250);
      }
      expect(session?.endReason, runtime).toBe('EXPIRED');
      // At the expiry the client last heard of (a heartbeat whose answer the shutdown cut off may have moved it by one lease).
      const endedAt = new Date(session!.endedAt!).getTime();
      expect(endedAt, runtime).toBeGreaterThanOrEqual(expiresAt);
      expect(endedAt, runtime).toBeLessThanOrEqual(expiresAt + 2_000);
    }),
  );
}, 90_000);
