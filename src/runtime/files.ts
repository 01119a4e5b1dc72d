/** `FileStore` over `node:fs`, which Node, Bun and Deno all provide. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { FileStore } from '../lib/files.ts';

export function createFileStore(dataDir: string): FileStore {
  const dir = resolve(dataDir);
  return {
    async directory(name) {
      const path = join(dir, name);
      await mkdir(path, { recursive: true, mode: 0o700 });
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
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(join(dir, name), contents, { mode: 0o600, flag: 'wx' });
    },
  };
}
