/**
 * Builds the server to JavaScript: src/runtime/{node,cli,worker}.ts → dist/runtime/, bundled by
 * esbuild with every package left to node_modules, so `npm start`, `npm run worker` and
 * `npm run cli` run plain `node` (no TypeScript loader, no compiler child process).
 *
 * dist/runtime/ sits as deep under the root as src/runtime/, so the paths that modules find by
 * `import.meta.url` (drizzle/, lua/) resolve the same from the build as from the source.
 *
 * `--if-stale` builds only when a file under src/ is newer than the build: the first `npm start`
 * after a checkout builds, later ones start at once. Plain Node and esbuild, so `npm install`
 * runs it as the package's prepare step.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist/runtime');
const entries = ['node', 'cli', 'worker'].map((name) => join(root, `src/runtime/${name}.ts`));

function newestSource() {
  let newest = 0;
  for (const file of readdirSync(join(root, 'src'), { recursive: true })) {
    newest = Math.max(newest, statSync(join(root, 'src', file)).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(join(outdir, 'node.js')).mtimeMs;
  } catch {
    return 0;
  }
}

if (!process.argv.includes('--if-stale') || builtAt() < newestSource()) {
  // Loaded only to build: a start with a fresh build pays for a directory walk, not for esbuild.
  const { build } = await import('esbuild');
  // Chunks are named by content hash: the last build's would otherwise pile up.
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: entries,
    outdir,
    outbase: join(root, 'src/runtime'),
    bundle: true,
    // Dynamic imports (the KMS signer, PGlite or postgres.js) stay separate chunks, loaded only when used.
    splitting: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    target: 'node20',
    // Node 20.10+ reads `with { type: 'json' }` (the SDK's persisted operations); esbuild's table says 22.
    supported: { 'import-attributes': true },
    sourcemap: true,
    logLevel: 'warning',
  });
}
