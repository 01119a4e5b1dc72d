/**
 * `--baseline REF`: the app as it was at another commit, run beside this one in the same bench,
 * so a change is measured against what it replaced under the same machine load. The commit is
 * checked out into a temporary git worktree that shares this checkout's node_modules (its
 * dependencies must be the same; a baseline whose lockfile differs is refused).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './servers.ts';

export interface Checkout {
  dir: string;
  name: string;
  remove(): void;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

export function checkoutBaseline(ref: string): Checkout {
  const commit = git('rev-parse', '--verify', `${ref}^{commit}`);
  const lockfile = git('show', `${commit}:package-lock.json`);
  if (lockfile !== readFileSync(join(root, 'package-lock.json'), 'utf8').trim()) {
    throw new Error(`--baseline ${ref}: its package-lock.json differs from this checkout's, so it cannot share node_modules`);
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'leasehold-baseline-')), 'checkout');
  git('worktree', 'add', '--detach', dir, commit);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return {
    dir,
    name: `baseline ${ref} (${commit.slice(0, 9)})`,
    remove() {
      git('worktree', 'remove', '--force', dir);
      rmSync(join(dir, '..'), { recursive: true, force: true });
    },
  };
}
