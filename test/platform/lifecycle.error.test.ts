/**
 * A start that cannot work says why in one line and exits non-zero: a port in use, a bad
 * variable, a Postgres or Redis that does not answer, a data directory another process holds.
 * Run as an operator runs them: the built server (`npm start` runs dist/runtime/node.js).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SERVER_DATABASE_URL, ensureServerLogin } from '../support/harness.ts';
import { freePort, runToExit, START_TIMEOUT_MS, startServer, stopServer } from '../support/process.ts';

const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SERVER = ['node', 'dist/runtime/node.js'];
const CLI = ['node', 'dist/runtime/cli.js', 'bootstrap'];

const dirs: string[] = [];
async function dataDir() {
  const dir = await mkdtemp(join(tmpdir(), 'leasehold-lifecycle-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/**
 * The stores of the test machine, so a start gets as far as the thing under test; the app on a
 * role of its own, as in production (as the owner it would warn first, a line more).
 */
const stores = async () => {
  await ensureServerLogin();
  return {
    DATABASE_URL: SERVER_DATABASE_URL,
    MIGRATION_DATABASE_URL: DATABASE_URL,
    REDIS_URL,
    LEASEHOLD_ADMIN_TOKEN: 'lifecycle-admin-token-0123456789',
    DATA_DIR: await dataDir(),
  };
};

/** One line, the program's name first, and no stack frame. */
function expectOneLine(output: string, line: string) {
  expect(output.trim()).toBe(line);
  expect(output).not.toMatch(/^\s+at /m);
}

describe('a start that cannot work', () => {
  it('names the port when it is in use, and exits 1', async () => {
    const port = await freePort();
    const holder: NetServer = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runToExit(SERVER, { ...(await stores()), PORT: String(port), HOST: '127.0.0.1' });
      expect(result.code).toBe(1);
      expectOneLine(result.output, `leasehold: PORT: port ${port} is already in use by another process`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it.each([
    ['PORT', 'abc', 'leasehold: PORT: expected an integer in [0, 65535], got "abc"'],
    ['SHUTDOWN_GRACE_MS', '-5', 'leasehold: SHUTDOWN_GRACE_MS: expected an integer in [0, 600000], got "-5"'],
    ['DATABASE_URL', 'mysql://db', 'leasehold: DATABASE_URL: expected postgres: or postgresql: URL, got mysql:'],
  ])('names a bad %s and exits 1', async (variable, value, line) => {
    const result = await runToExit(SERVER, { ...(await stores()), [variable]: value });
    expect(result.code).toBe(1);
    expectOneLine(result.output, line);
  });

  it('refuses an operator token of fewer than 24 characters once trimmed, without echoing it', async () => {
    const token = 'x'.repeat(23);
    const result = await runToExit(SERVER, { ...(await stores()), LEASEHOLD_ADMIN_TOKEN: `   ${token}\u00a0  ` });
    expect(result.code).toBe(1);
    expectOneLine(result.output, 'leasehold: LEASEHOLD_ADMIN_TOKEN: must be at least 24 characters after trimming, got 23');
    expect(result.output).not.toContain(token);
  });

  it('refuses a data directory whose operator token file holds only whitespace, naming the file and the way out', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'admin-token'), ' \n\t\u00a0\n', { mode: 0o600 });
    const result = await runToExit(SERVER, { ...(await stores()), LEASEHOLD_ADMIN_TOKEN: '', DATA_DIR: dir });
    expect(result.code).toBe(1);
    expectOneLine(
      result.output,
      "leasehold: LEASEHOLD_ADMIN_TOKEN: unset, and the data directory's admin-token file holds 0 characters after trimming " +
        '(at least 24 needed): set LEASEHOLD_ADMIN_TOKEN, or delete the file to have one generated',
    );
  });

  it('names DATA_DIR when it cannot be a directory (under a file), and exits 1', async () => {
    const file = join(await dataDir(), 'a-file');
    await writeFile(file, '');
    const result = await runToExit(SERVER, { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: join(file, 'data') });
    expect(result.code).toBe(1);
    expectOneLine(
      result.output,
      `leasehold: DATA_DIR: ${join(file, 'data')} cannot be used as a directory (ENOTDIR: not a directory, mkdir '${join(file, 'data')}')`,
    );
  });

  it('names DATABASE_URL when Postgres does not answer, without its password', async () => {
    const port = await freePort();
    const result = await runToExit(SERVER, { ...(await stores()), DATABASE_URL: `postgres://root:hunter2-secret@127.0.0.1:${port}/leasehold` });
    expect(result.code).toBe(1);
    expectOneLine(result.output, `leasehold: DATABASE_URL: cannot reach Postgres at 127.0.0.1:${port}/leasehold (ECONNREFUSED)`);
    expect(result.output).not.toContain('hunter2');
  });

  it('names REDIS_URL when Redis does not answer, without its password, instead of claiming to listen', async () => {
    const port = await freePort();
    const result = await runToExit(SERVER, { ...(await stores()), REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${port}/2` });
    expect(result.code).toBe(1);
    expectOneLine(result.output, `leasehold: REDIS_URL: cannot reach Redis at 127.0.0.1:${port}/2 (ECONNREFUSED)`);
    expect(result.output).not.toContain('hunter2');
  });
});

describe('a start that fails unexpectedly', () => {
  it('prints its stack in the source files and lines, with no flag given to node', async () => {
    // A damaged embedded database: no variable to name, so the stack is what there is to go on.
    const dir = await dataDir();
    await mkdir(join(dir, 'pg'));
    await writeFile(join(dir, 'pg', 'PG_VERSION'), 'damaged\n');
    const result = await runToExit(SERVER, { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dir });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/^\s+at .*src\/app\.ts:\d+:\d+/m);
    expect(result.output).not.toMatch(/dist\/runtime\//);
  });
});

describe('the embedded data directory', () => {
  it(
    'belongs to one process: a second server and the CLI refuse it by name until the first has stopped',
    async () => {
      const dir = await dataDir();
      // The embedded default, as `npm start` runs with no configuration.
      const embedded = { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dir };
      const first = await startServer(SERVER, embedded);
      try {
        const pid = first.child.pid!;
        const held = `DATA_DIR: ${dir} is in use by another Leasehold process (pid ${pid}): the embedded database allows one process. Stop that one first, use its API instead, or set DATABASE_URL and REDIS_URL to run several.`;
        const [second, cli] = await Promise.all([
          runToExit(SERVER, { ...embedded, PORT: String(await freePort()) }),
          runToExit(CLI, embedded),
        ]);
        expect(second.code).toBe(1);
        expectOneLine(second.output, `leasehold: ${held}`);
        expect(cli.code).toBe(1);
        expectOneLine(cli.output, `leasehold cli: ${held}`);
        // The first server is untouched: it still answers.
        expect((await fetch(`${first.base}/ready`)).status).toBe(200);
      } finally {
        expect(await stopServer(first)).toBe(0);
      }
      const after = await runToExit(CLI, embedded);
      expect(after.code).toBe(0);
      expect(after.output).toMatch(/API key: +pk_live_/);
    },
    3 * START_TIMEOUT_MS,
  );

  it(
    'is taken over from a process that died without releasing it',
    async () => {
      const dir = await dataDir();
      const embedded = { DATABASE_URL: '', REDIS_URL: '', DATA_DIR: dir };
      const first = await startServer(SERVER, embedded);
      first.child.kill('SIGKILL');
      await first.exited;
      const after = await runToExit(CLI, embedded);
      expect(after.code).toBe(0);
      expect(after.output).toMatch(/API key: +pk_live_/);
    },
    3 * START_TIMEOUT_MS,
  );
});
