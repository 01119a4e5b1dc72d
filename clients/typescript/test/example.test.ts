/** examples/licensed-app runs against the real server as its README says, refusals included. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runScript } from './support/runtimes.ts';
import { sleep, useLeasehold } from './support/server.ts';

const APP = fileURLToPath(new URL('../../../examples/licensed-app/app.mjs', import.meta.url));

const server = useLeasehold();

it('holds the seat, enables the licensed feature, tells a second machine that every seat is in use, and releases', async () => {
  const license = await server.createLicense({ maxSeats: 1, tier: 'pro', features: ['export'] });
  const jwksFile = join(await mkdtemp(join(tmpdir(), 'leasehold-example-')), 'jwks.json');
  await writeFile(jwksFile, await (await fetch(`${server.url}/.well-known/jwks.json`)).text());
  const env = { LEASEHOLD_URL: server.url, LEASEHOLD_LICENSE_KEY: license.key, LEASEHOLD_JWKS: jwksFile };

  const first = runScript(['node'], [APP], { ...env, EXAMPLE_SECONDS: '4' });
  while (!first.output().includes('Export is enabled.')) {
    if (first.output().includes('Error')) throw new Error(first.output());
    await sleep(100);
  }
  const second = runScript(['node'], [APP], { ...env, LEASEHOLD_MACHINE_ID: 'another-machine' });
  expect((await second.exited).code).toBe(75);
  expect(second.output().trim()).toBe('Every seat of this license is in use. Try again when a colleague closes the app. (1 of 1 in use)');

  expect((await first.exited).code, first.output()).toBe(0);
  expect(first.output()).toMatch(/^Licensed: pro plan, seat ses_\w+\nExport is enabled\.\nFeatures: export\nSeat released\.\n$/);
  expect(await server.seatsUsed(license.id)).toBe(0);
}, 60_000);

it('tells the user when the key is not a license', async () => {
  const run = runScript(['node'], [APP], { LEASEHOLD_URL: server.url, LEASEHOLD_LICENSE_KEY: 'lhk_not_a_real_key' });
  expect((await run.exited).code).toBe(75);
  expect(run.output().trim()).toBe('This license key is not known. Check it for typos, or ask your administrator for yours.');
});
