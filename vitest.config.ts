// Test runner configuration: conformance tests start real servers, so allow generous timeouts.
// The conformance re-run on PostgreSQL (test/conformance/postgres/) is part of `npm test` whenever a
// PostgreSQL server is given (HANGAR_TEST_DATABASE_URL; .ci/run starts one), each server on its own
// fresh database. Without the variable it is left out (the PostgreSQL store suites then start their
// own throwaway cluster, or skip loudly), unless HANGAR_TEST_PG_CONFORMANCE=1 asks for it;
// `npm run test:postgres` runs that folder alone. Measured cost: docs/notes/pgstore.md ("pgops").
import { defineConfig } from 'vitest/config';

const pgConformance = Boolean(process.env.HANGAR_TEST_DATABASE_URL) || process.env.HANGAR_TEST_PG_CONFORMANCE === '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'console/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(pgConformance ? [] : ['test/conformance/postgres/**'])],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
