/**
 * Builds the server to JavaScript: src/runtime/{node,cli,worker}.ts → dist/runtime/<name>.main.js,
 * loaded by dist/runtime/<name>.js (see entryOf), bundled by esbuild, so `npm start`, `npm run
 * worker` and `npm run cli` run plain `node` (no TypeScript
 * loader, no compiler child process).
 *
 * The packages are bundled in too, all but those that read files beside their own code (see
 * `external`). Loaded from node_modules, they cost the start a module resolution per file: on
 * Node 24, importing drizzle-orm alone took 0.35 s and 130 MiB (its package.json has an exports
 * map of thousands of entries), and the whole graph 1.3 s before the first line of the app ran;
 * bundled, 0.15 s.
 *
 * dist/runtime/ sits as deep under the root as src/runtime/, so the paths that modules find by
 * `import.meta.url` (drizzle/, lua/) resolve the same from the build as from the source.
 *
 * `--if-stale` builds only when a file under src/ is newer than the build: the first `npm start`
 * after a checkout builds, later ones start at once. Plain Node and esbuild, so `npm install`
 * runs it as the package's prepare step.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist/runtime');
const entries = ['node', 'cli', 'worker'];

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

const clusterDir = join(root, 'dist/pglite');
const migrationsFolder = join(root, 'drizzle');

/** A digest of the migrations (drizzle/), which the initial cluster has applied. */
function migrationsDigest() {
  const hash = createHash('sha256');
  for (const file of readdirSync(migrationsFolder, { recursive: true }).sort()) {
    const path = join(migrationsFolder, file);
    if (statSync(path).isFile()) hash.update(file).update(readFileSync(path));
  }
  return hash.digest('hex');
}

/**
 * The cluster that initdb makes with the installed PGlite, with the migrations applied, as a
 * directory named by a hash of its Postgres binary (src/db/client.ts copies it into a new data
 * directory instead of running initdb and every migration). Made again when PGlite or the
 * migrations changed (the digest beside it says which it has); a cluster older than the
 * migrations is still right, as the start applies the rest. A directory rather than a tarball:
 * the start copies it with the file system's own copy in about 30 ms, where PGlite's loadDataDir
 * unpacked a tarball in JavaScript (about 0.5 s, and 150 MiB of resident memory the process kept).
 * Made in a directory beside it and renamed into place, so a build cut short leaves none half made.
 */
async function buildInitialCluster() {
  const wasm = readFileSync(createRequire(import.meta.url).resolve('@electric-sql/pglite/pglite.wasm'));
  const dir = join(clusterDir, `cluster-${createHash('sha256').update(wasm).digest('hex').slice(0, 16)}`);
  const stamp = `${dir}.migrations`;
  const migrations = migrationsDigest();
  if (existsSync(dir) && existsSync(stamp) && readFileSync(stamp, 'utf8') === migrations) return;
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  rmSync(clusterDir, { recursive: true, force: true });
  const making = `${dir}.making`;
  mkdirSync(making, { recursive: true });
  const pg = await PGlite.create(making);
  await migrate(drizzle(pg), { migrationsFolder });
  await pg.close();
  renameSync(making, dir);
  writeFileSync(stamp, migrations);
}

/**
 * dist/runtime/<name>.js: turns source maps on, then loads the built entry, so stack traces name
 * src/ files and lines. Through the API rather than `node --enable-source-maps`: with the flag,
 * util.getCallSites() maps every call site it returns, and pino asks it for its caller at each
 * pino(), which parsed the whole bundle's map at start (about 40 MiB of heap and 0.1 s). Turned
 * on here, stack traces are mapped the same, and the map is parsed at the first one printed.
 * Before the import: only modules loaded after it get their maps. (Node 20, which the smoke test
 * still runs, has only process.setSourceMapsEnabled.)
 */
function entryOf(name) {
  return [
    '// Made by scripts/build.mjs (see entryOf there).',
    "import * as nodeModule from 'node:module';",
    'if (nodeModule.setSourceMapsSupport) nodeModule.setSourceMapsSupport(true);',
    'else process.setSourceMapsEnabled(true);',
    `await import('./${name}.main.js');`,
    '',
  ].join('\n');
}

if (!existsSync(clusterDir) || !process.argv.includes('--if-stale') || builtAt() < newestSource()) await buildInitialCluster();

if (!process.argv.includes('--if-stale') || builtAt() < newestSource()) {
  // Loaded only to build: a start with a fresh build pays for a directory walk, not for esbuild.
  const { build } = await import('esbuild');
  // Chunks are named by content hash: the last build's would otherwise pile up.
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: entries.map((name) => ({ in: join(root, `src/runtime/${name}.ts`), out: `${name}.main` })),
    outdir,
    outbase: join(root, 'src/runtime'),
    bundle: true,
    // Dynamic imports (the KMS signer, PGlite or postgres.js, Redis, GraphiQL) stay separate chunks, loaded only when used.
    splitting: true,
    format: 'esm',
    platform: 'node',
    // PGlite finds its WASM, data and extension files by import.meta.url, and the KMS client its
    // protos by __dirname: bundled, they would look for them in dist/.
    external: ['@electric-sql/pglite', '@google-cloud/kms', 'google-gax'],
    // The bundled CommonJS packages (ioredis, ws, pino…) require Node's built-ins; an ES module has no `require` of its own.
    banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
    // package.json's engines: the oldest Node the dependencies support.
    target: 'node22.15',
    // Maps for stack traces (see entryOf), without the sources themselves: with node_modules
    // bundled they would be most of the map.
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
  // Last: builtAt() reads the time of dist/runtime/node.js.
  for (const name of entries) writeFileSync(join(outdir, `${name}.js`), entryOf(name));
}
