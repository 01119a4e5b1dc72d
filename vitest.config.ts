import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites share one Postgres and one Redis; each isolates its data by organization and license.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
