// The SQLite adapter against the files part of the store port contract.
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { runFileRepoSuite } from '../kit/store-suite.ts';

runFileRepoSuite('sqlite', () => new SqliteStore(':memory:'));
