/** `FileStore` over `node:fs`, which Node, Bun and Deno all provide. */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/config.ts';
import type { FileStore } from '../lib/files.ts';

/** Whether a process with this id runs (signal 0 checks without sending anything). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as { code?: string }).code === 'EPERM';
  }
}

/** Why a path cannot hold a directory: the operator's to fix (DATA_DIR), not a bug to print a stack for. */
const UNUSABLE = new Set(['EACCES', 'EEXIST', 'ELOOP', 'ENAMETOOLONG', 'ENOSPC', 'ENOTDIR', 'EPERM', 'EROFS']);

/** Makes a directory of the data directory (or itself), answering a path that cannot be one as DATA_DIR's error. */
async function makeDirectory(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code && UNUSABLE.has(code)) throw new ConfigError('DATA_DIR', `${path} cannot be used as a directory (${(error as Error).message})`);
    throw error;
  }
}

export function createFileStore(dataDir: string): FileStore {
  const dir = resolve(dataDir);
  return {
    async directory(name) {
      const path = join(dir, name);
      await makeDirectory(path);
      return path;
    },
    async read(name) {
      try {
        return await readFile(join(dir, name), 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    async writeSecret(name, contents) {
      await makeDirectory(dir);
      await writeFile(join(dir, name), contents, { mode: 0o600, flag: 'wx' });
    },
    /**
     * A lock file holding the owner's process id, made with O_EXCL so of two processes starting
     * together exactly one makes it. A lock whose process is gone (killed, crashed) is taken
     * over; a process id that is this process's own is a previous life of it (a container's
     * pid 1 restarted on the same volume).
     */
    async lock() {
      await makeDirectory(dir);
      const path = join(dir, 'lock');
      for (;;) {
        try {
          await writeFile(path, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
          return () => rm(path, { force: true });
        } catch (error) {
          if ((error as { code?: string }).code !== 'EEXIST') throw error;
        }
        const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && running(holder)) {
          throw new ConfigError(
            'DATA_DIR',
            `${dir} is in use by another Leasehold process (pid ${holder}): the embedded database allows one process. ` +
              'Stop that one first, use its API instead, or set DATABASE_URL and REDIS_URL to run several.',
          );
        }
        await rm(path, { force: true });
      }
    },
  };
}
