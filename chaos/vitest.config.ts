import { defineConfig } from 'vitest/config';

/**
 * The chaos suite (`npm run chaos`, `npm run chaos:smoke`): kill points, write mixes and
 * randomized histories against a real PostgreSQL, driving the built CLI. Not part of `npm test`.
 * One throwaway database per family and file; files run in parallel.
 */
export default defineConfig({
  test: {
    include: ['chaos/**/*.chaos.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    testTimeout: 6 * 60 * 60_000,
    hookTimeout: 600_000,
    maxWorkers: 2,
  },
});
