// Test runner configuration: conformance tests start real servers, so allow generous timeouts.
// The conformance re-run on PostgreSQL (test/conformance/postgres/) doubles the suite's servers on a
// 2-core machine; it runs with `npm run test:postgres` (HANGAR_TEST_PG_CONFORMANCE=1) until it is
// stable under the full suite's load. The PostgreSQL store suites (test/unit/store-postgres.test.ts,
// the shared repo suites, test/ops/postgres-startup.test.ts) always run.
import { defineConfig } from 'vitest/config';

const pgConformance = process.env.HANGAR_TEST_PG_CONFORMANCE === '1';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'console/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(pgConformance ? [] : ['test/conformance/postgres/**'])],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
