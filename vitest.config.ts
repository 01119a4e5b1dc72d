import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql 16 ships CJS (main) and ESM (module). Node loads the CJS copy for our dependencies;
  // without this alias Vite would hand our own files the ESM copy, and graphql refuses mixing them.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites share one Postgres and one Redis; each isolates its data by organization and license.
    fileParallelism: true,
    maxWorkers: 2,
    // Server processes the tests start inherit this: their in-process webhook workers would
    // otherwise claim deliveries of suites that run their own workers with shrunk timings.
    env: { WEBHOOK_WORKER: 'off' },
    projects: [
      {
        extends: true,
        test: {
          name: 'server',
          include: ['test/**/*.test.ts', 'clients/typescript/test/**/*.test.ts'],
          exclude: ['test/console/**'],
        },
      },
      {
        // The web console in Chromium, driven as a person uses it; `npm test` builds it first.
        extends: true,
        test: {
          name: 'console',
          include: ['test/console/**/*.test.ts'],
          testTimeout: 90_000,
          // A page follows the server within moments, but a loaded machine stretches moments.
          expect: { poll: { timeout: 15_000, interval: 100 } },
        },
      },
    ],
  },
});
