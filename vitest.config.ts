import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // onnxruntime and the DICOM servers are heavy: keep files in separate processes, two at a time (2 cores).
    globalSetup: ['tests/support/temp-root.ts'],
    pool: 'forks',
    maxWorkers: 2,
  },
});
