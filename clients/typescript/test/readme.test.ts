/** The README's ten-line example, taken from the README and run as written on Node, Bun and Deno. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runScript, runtimes } from './support/runtimes.ts';
import { sleep, useLeasehold } from './support/server.ts';

const README = new URL('../README.md', import.meta.url);
const EXAMPLE = fileURLToPath(new URL('./.tmp/readme-example.ts', import.meta.url));

const server = useLeasehold();
beforeAll(async () => {
  const readme = await readFile(README, 'utf8');
  const block = /run as written by test\/readme\.test\.ts[^\n]*\n```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no example block after its marker');
  await mkdir(new URL('./.tmp/', import.meta.url), { recursive: true });
  await writeFile(EXAMPLE, block);
});

describe.each(runtimes)('the README example on %s', (runtime, command) => {
  it('takes a seat, says what it licenses, and gives the seat back', async () => {
    const license = await server.createLicense({ maxSeats: 1, tier: 'studio', features: ['export', 'render'] });
    // The fingerprint helper reads /etc/machine-id: Deno needs --allow-read on top of the core's permissions.
    const run = runScript(runtime === 'Deno' ? [...command, '--allow-read'] : command, [EXAMPLE], {
      LEASEHOLD_URL: server.url,
      LEASEHOLD_LICENSE_KEY: license.key,
    });
    const held = (async () => {
      while (!run.output().includes('Licensed:')) await sleep(100);
      return server.seatsUsed(license.id);
    })();
    expect((await run.exited).code, run.output()).toBe(0);
    expect(await held).toBe(1);
    expect(run.output().trim()).toBe('Licensed: studio (export, render)');
    expect(await server.seatsUsed(license.id)).toBe(0);
  }, 60_000);
});
