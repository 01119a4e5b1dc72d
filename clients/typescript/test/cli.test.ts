/** `leasehold-seat` against the real server: a seat held exactly while the command runs. */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Leasehold } from '@leasehold/client';
import { describe, expect, it } from 'vitest';
import { runScript } from './support/runtimes.ts';
import { sleep, useLeasehold } from './support/server.ts';

// The installed bin, as `npx leasehold-seat` runs it.
const CLI = fileURLToPath(new URL('../../../node_modules/.bin/leasehold-seat', import.meta.url));

const server = useLeasehold();

const seatCli = (args: string[], env: Record<string, string> = {}) => runScript(['node', CLI], args, { LEASEHOLD_URL: server.url, ...env });
const node = (code: string) => ['--', process.execPath, '-e', code];

describe('leasehold-seat run', () => {
  it('holds a seat while the command runs, releases it when the command exits, and exits with its status', async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const run = seatCli(['run', ...node('console.log("rendering"); setTimeout(() => process.exit(3), 1500)')], { LEASEHOLD_LICENSE_KEY: license.key });
    while (!run.output().includes('rendering')) await sleep(50);
    expect(await server.seatsUsed(license.id)).toBe(1);
    expect((await run.exited).code).toBe(3);
    expect(await server.seatsUsed(license.id)).toBe(0);
  });

  it('does not run the command when no seat is free, and exits 75 saying why', async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const other = await new Leasehold({ url: server.url, licenseKey: license.key }).acquire({ fingerprint: 'another-agent' });
    const run = seatCli(['run', ...node('console.log("ran")')], { LEASEHOLD_LICENSE_KEY: license.key });
    expect((await run.exited).code).toBe(75);
    expect(run.output()).toMatch(/^leasehold-seat: no seat \(NO_SEATS_AVAILABLE\)/);
    expect(run.output()).not.toContain('ran');
    await other.release();
  });

  it('stops the command when the seat is lost, and exits 75', async () => {
    const license = await server.createLicense({ maxSeats: 1, leaseSeconds: 2 });
    const run = seatCli(['run', '--fingerprint', 'farm-7', ...node('console.log("working"); setInterval(() => {}, 1000)')], { LEASEHOLD_LICENSE_KEY: license.key });
    while (!run.output().includes('working')) await sleep(50);
    const { sessions } = await server.admin(`query($id: ID!) { sessions(licenseId: $id, active: true) { edges { node { id } } } }`, { id: license.id });
    await server.admin(`mutation($id: ID!) { revokeSession(input: { id: $id }) { __typename } }`, { id: sessions.edges[0].node.id });
    expect((await run.exited).code).toBe(75);
    expect(run.output()).toContain('leasehold-seat: seat lost (SESSION_EXPIRED)');
    expect(await server.seatsUsed(license.id)).toBe(0);
  });

  it('passes SIGTERM to the command, then releases the seat', async () => {
    const license = await server.createLicense({ maxSeats: 1 });
    const run = seatCli(['run', ...node('console.log("busy"); process.on("SIGTERM", () => { console.log("stopping"); process.exit(0); }); setInterval(() => {}, 1000)')], {
      LEASEHOLD_LICENSE_KEY: license.key,
    });
    while (!run.output().includes('busy')) await sleep(50);
    run.signal('SIGTERM');
    expect((await run.exited).code).toBe(0);
    expect(run.output()).toContain('stopping');
    expect(await server.seatsUsed(license.id)).toBe(0);
  });

  it('exits 64 without a server, a license key or a command', async () => {
    expect((await runScript(['node', CLI], ['run', ...node('')], { LEASEHOLD_LICENSE_KEY: 'lhk_x' }).exited).code).toBe(64);
    expect((await seatCli(['run', ...node('')]).exited).code).toBe(64);
    expect((await seatCli(['run'], { LEASEHOLD_LICENSE_KEY: 'lhk_x' }).exited).code).toBe(64);
  });
});

describe('leasehold-seat fingerprint', () => {
  it("prints this machine's fingerprint for the app id: the machine id hashed, not the machine id", async () => {
    const run = seatCli(['fingerprint', '--app-id', 'com.example.render']);
    expect((await run.exited).code).toBe(0);
    const machineId = (await readFile('/etc/machine-id', 'utf8')).trim();
    expect(run.output().trim()).toBe(createHmac('sha256', machineId).update('com.example.render').digest('hex'));
    expect(run.output()).not.toContain(machineId);
  });
});
