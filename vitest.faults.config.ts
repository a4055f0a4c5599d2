import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: stops and starts its own PostgreSQL, so it runs apart from `npm test`. */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
