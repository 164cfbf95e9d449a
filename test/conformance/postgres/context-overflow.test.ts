// The context-overflow conformance suite, run again with every server on PostgreSQL (a fresh database per
// server; see test/kit/hangar.ts and test/kit/postgres.ts).
process.env.HANGAR_TEST_STORE = 'postgres';
await import('../context-overflow.test.ts');
