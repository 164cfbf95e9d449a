// The spend-limits conformance suite (two nodes racing one limit included), run again with every
// server on PostgreSQL (a fresh database per server; see test/kit/hangar.ts and test/kit/postgres.ts).
process.env.HANGAR_TEST_STORE = 'postgres';
await import('../spend-limits.test.ts');
