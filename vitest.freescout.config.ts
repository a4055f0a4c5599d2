import { defineConfig } from 'vitest/config';

/**
 * `npm run test:freescout`: the suite against a real FreeScout (test/freescout-real/global-setup.ts
 * says which one). Its waits follow FreeScout's own timings (webhooks from a queue worker,
 * `convo.created` ~15 s after an agent's create, retries at the next minute), so it runs apart.
 */
export default defineConfig({
  test: {
    include: ['test/freescout-real/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts', 'test/freescout-real/global-setup.ts'],
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // Each flow and each skip with its reason, not just a count.
    reporters: ['verbose'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
