import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', 'test/freescout-real/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // PGlite loads a migrated template per file; two forks fit the two cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
