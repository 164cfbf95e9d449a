// The SQLite adapter against the idempotency-key part of the store port contract.
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { runIdempotencyRepoSuite } from '../kit/store-suite.ts';

runIdempotencyRepoSuite('sqlite', () => new SqliteStore(':memory:'));
