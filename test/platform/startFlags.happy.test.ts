/**
 * `npm start` picks Node's flags by mode: the embedded default (no DATABASE_URL, so PGlite in
 * the process) gets a small young generation, a server on Postgres keeps V8's own. Checked on
 * package.json's line itself, run by sh as npm runs it, with a `node` first on the PATH that
 * writes down its arguments instead of running anything.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The arguments of each `node` that `npm start`'s line runs, one string per run. */
async function nodeRunsOfStart(env: Record<string, string>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'leasehold-start-flags-'));
  dirs.push(dir);
  const log = join(dir, 'runs');
  await writeFile(join(dir, 'node'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\n`);
  await chmod(join(dir, 'node'), 0o755);
  const { scripts } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  execFileSync('sh', ['-c', scripts.start], { cwd: root, env: { PATH: `${dir}:${process.env.PATH}`, ...env } });
  return (await readFile(log, 'utf8')).trim().split('\n');
}

describe('npm start', () => {
  it('gives the embedded server a young generation of 2 × 8 MiB, without DATABASE_URL or with it empty', async () => {
    for (const env of [{}, { DATABASE_URL: '' }] as Record<string, string>[]) {
      const [build, server] = await nodeRunsOfStart(env);
      expect(build).toBe('scripts/build.mjs --if-stale');
      expect(server).toBe('--liftoff-only --max-semi-space-size=8 dist/runtime/node.js');
    }
  });

  it("leaves V8's young generation as it is on Postgres", async () => {
    const [, server] = await nodeRunsOfStart({ DATABASE_URL: 'postgres://leasehold@db.internal:5432/leasehold' });
    expect(server).toBe('--liftoff-only dist/runtime/node.js');
  });
});
