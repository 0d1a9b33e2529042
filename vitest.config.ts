import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (no database) and `integration` (a real PostgreSQL; each test file makes
 * its own throwaway database). Integration tests drive the built CLI (`npm test` builds first).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/globalSetup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
