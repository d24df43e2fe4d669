import { defineConfig } from 'vitest/config';

// The end-to-end suite alone (`npm run test:e2e`): tests/e2e/*.e2e.test.ts, one file at a time, one worker, generous timeouts (2 cores, model on CPU).
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 180_000,
    globalSetup: ['tests/support/temp-root.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
