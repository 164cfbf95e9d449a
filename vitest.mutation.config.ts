// Vitest configuration for `npm run mutation` (StrykerJS, not part of CI): only the fast unit test
// files of the mutated modules. Stryker's per-test coverage then runs, for each mutant, only the
// tests that reach it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/planner.test.ts', // planner.ts, permissions.ts, the budget gate
      'test/unit/outcomes-state.test.ts', // planner.ts, budget.ts
      'test/unit/pricing.test.ts', // budget.ts
      'test/unit/auto-policy.test.ts', // auto-policy.ts
      'test/unit/auto-policy-bypass.test.ts', // auto-policy.ts (the bypass corpus)
      'test/egress/address-policy.test.ts', // address-policy.ts
      'test/unit/secret-box.test.ts', // secret-box/*
      'test/unit/vaults-master-key.test.ts', // secret-box/* through the vault service
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
