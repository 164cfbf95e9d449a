// The PostgreSQL adapter against every suite of the store port contract (the same suites the
// SQLite adapter runs), on a real server (test/kit/postgres.ts), plus what only a shared database
// shows: three stores migrating one empty database at once migrate it once, and a store's log
// cache sees what another node appended or marked processed, inside and outside a commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgStore } from '../../src/adapters/store-postgres/pg-store.ts';
import { PG_MIGRATIONS } from '../../src/adapters/store-postgres/pg-migrations.ts';
import { StoreUnavailableError } from '../../src/ports/store.ts';
import { runFileRepoSuite, runIdempotencyRepoSuite, runAuditRepoSuite, runSpendRepoSuite, runPackageLayerRepoSuite, runStoreSuite, runTelemetryDestinationRepoSuite, runWorkspaceRepoSuite } from '../kit/store-suite.ts';
import { runVaultRepoSuite, runWorkRepoSuite } from '../kit/repo-suites.ts';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from '../kit/postgres.ts';

const server = await postgresServerUrl();
let db: TestDatabase;

/** An empty store on this file's database: every table truncated, a fresh instance (cold caches). */
async function emptyStore(): Promise<PgStore> {
  const store = await PgStore.open(db.url, { maxConnections: 6 });
  const tables = (await store.db.all("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"))
    .map((r) => String(r.tablename));
  await store.db.run(`TRUNCATE ${tables.join(', ')} RESTART IDENTITY`);
  return store;
}

describe.skipIf(!server)('PostgreSQL store', () => {
  beforeAll(async () => {
    db = await createTestDatabase(server!);
  });
  afterAll(async () => {
    await db?.drop();
  });

  runStoreSuite('postgres', emptyStore);
  runWorkspaceRepoSuite('postgres', emptyStore);
  runFileRepoSuite('postgres', emptyStore);
  runIdempotencyRepoSuite('postgres', emptyStore);
  runPackageLayerRepoSuite('postgres', emptyStore);
  runSpendRepoSuite('postgres', emptyStore);
  runAuditRepoSuite('postgres', emptyStore);
  runTelemetryDestinationRepoSuite('postgres', emptyStore);
  runVaultRepoSuite('postgres', emptyStore);
  runWorkRepoSuite('postgres', emptyStore, () => PgStore.open(db.url, { maxConnections: 4 }));

  describe('migrations', () => {
    it('three stores starting at once on an empty database migrate it once', async () => {
      const fresh = await createTestDatabase(server!);
      try {
        const stores = await Promise.all([1, 2, 3].map(() => PgStore.open(fresh.url, { maxConnections: 2 })));
        const client = new pg.Client({ connectionString: fresh.url });
        await client.connect();
        try {
          const rows = (await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows.map((r) => Number(r.version));
          expect(rows).toEqual(PG_MIGRATIONS.map((m) => m.version));
          const tables = (await client.query("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0].n;
          expect(Number(tables)).toBeGreaterThan(10);
        } finally {
          await client.end();
        }
        // Every store works on the one schema.
        await stores[0].apiKeys.insert('key_1', 'hash_1', '2026-01-01T00:00:00.000Z');
        expect(await stores[2].apiKeys.existsHash('hash_1')).toBe(true);
        await Promise.all(stores.map((s) => s.close()));
        // A restart finds everything applied and changes nothing.
        const again = await PgStore.open(fresh.url);
        expect(await again.apiKeys.count()).toBe(1);
        await again.close();
      } finally {
        await fresh.drop();
      }
    });
  });

  describe('log cache across nodes', () => {
    const session = {
      type: 'session', id: 'sesn_nodes', status: 'idle' as const, created_at: '2026-05-01T00:00:00.000Z',
      agent: { id: 'agent_1', version: 1 }, usage: {},
    };
    const ev = (id: string) => ({ id, type: 'user.message', content: [{ type: 'text', text: id }], processed_at: null });
    const now = '2026-05-01T00:00:01.000Z';

    it("sees the other node's appends and processed marks, in commits and in reads", async () => {
      const a = await emptyStore();
      const b = await PgStore.open(db.url, { maxConnections: 3 });
      try {
        const ids = async (s: PgStore) => (await s.sessions.log('sesn_nodes')).map((e) => `${e.event.id}${e.event.processed_at ? '+' : ''}`);
        await a.sessions.insert({ session, runningSince: null, retryCount: 0 }, [ev('sevt_1')]);
        expect(await ids(a)).toEqual(['sevt_1']); // cached in a
        expect(await ids(b)).toEqual(['sevt_1']); // cached in b

        await b.sessions.commit('sesn_nodes', () => ({ now, events: [ev('sevt_2')] }));
        expect(await ids(a)).toEqual(['sevt_1', 'sevt_2']);

        // b marks sevt_1 processed; a's commit must plan on that, not on its cached copy.
        await b.sessions.commit('sesn_nodes', () => ({ now, markProcessed: ['sevt_1'], events: [ev('sevt_3')] }));
        let seen: string[] = [];
        await a.sessions.commit('sesn_nodes', (_row, log) => {
          seen = log().map((e) => `${e.event.id}${e.event.processed_at ? '+' : ''}`);
          return { now, events: [ev('sevt_4')] };
        });
        expect(seen).toEqual(['sevt_1+', 'sevt_2', 'sevt_3']);
        expect(await ids(a)).toEqual(['sevt_1+', 'sevt_2', 'sevt_3', 'sevt_4']);
        expect(await ids(b)).toEqual(['sevt_1+', 'sevt_2', 'sevt_3', 'sevt_4']);
        expect((await b.sessions.log('sesn_nodes'))[0].processedSeq).toBe((await a.sessions.log('sesn_nodes'))[1].seq);

        // A commit whose decide throws writes nothing and leaves both caches right.
        await expect(a.sessions.commit('sesn_nodes', () => { throw new Error('abort'); })).rejects.toThrow('abort');
        expect(await ids(b)).toEqual(['sevt_1+', 'sevt_2', 'sevt_3', 'sevt_4']);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('serializes commits to one session from two nodes: no event lost, order kept', async () => {
      const a = await emptyStore();
      const b = await PgStore.open(db.url, { maxConnections: 4 });
      try {
        await a.sessions.insert({ session, runningSince: null, retryCount: 0 }, []);
        // Each commit appends the number of events its log already holds: a lost update would repeat a number.
        const step = (s: PgStore) => s.sessions.commit('sesn_nodes', (_row, log) => ({ now, events: [{ ...ev(`sevt_n${log().length}`) }] }));
        await Promise.all(Array.from({ length: 20 }, (_, i) => step(i % 2 ? a : b)));
        const log = await a.sessions.log('sesn_nodes');
        expect(log.map((e) => e.event.id)).toEqual(Array.from({ length: 20 }, (_, i) => `sevt_n${i}`));
        expect(log.map((e) => e.seq)).toEqual([...log.map((e) => e.seq)].sort((x, y) => x - y));
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('unavailability', () => {
    it('a statement past the statement timeout fails as StoreUnavailableError naming the setting; an SQL error stays itself', async () => {
      const store = await PgStore.open(db.url, { maxConnections: 2, statementTimeoutMs: 200 });
      try {
        const slow = await store.db.get('SELECT pg_sleep(2) AS x').then(() => undefined, (e: unknown) => e);
        expect(slow).toBeInstanceOf(StoreUnavailableError);
        expect((slow as Error).message).toMatch(/^PostgreSQL at 127\.0\.0\.1:\d+\/hangar_test_\w+ is unavailable: a statement ran past HANGAR_DATABASE_STATEMENT_TIMEOUT_MS$/);
        const wrong = await store.db.get('SELECT * FROM no_such_table').then(() => undefined, (e: unknown) => e);
        expect(wrong).toBeInstanceOf(pg.DatabaseError);
        expect(wrong).not.toBeInstanceOf(StoreUnavailableError);
        // The pool is fine afterwards.
        expect((await store.db.get('SELECT 1 AS one'))?.one).toBe(1);
      } finally {
        await store.close();
      }
    });

    it('waiting longer than the connect timeout for a free pooled connection fails as StoreUnavailableError', async () => {
      const store = await PgStore.open(db.url, { maxConnections: 1, connectTimeoutMs: 200 });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const tx = store.db.tx(async () => held);
      try {
        const waited = await store.db.get('SELECT 1 AS one').then(() => undefined, (e: unknown) => e);
        expect(waited).toBeInstanceOf(StoreUnavailableError);
        expect((waited as Error).message).toMatch(/is unavailable: no answer in time \(timeout exceeded when trying to connect\)$/);
        const inTx = await store.db.tx(async () => 1).then(() => undefined, (e: unknown) => e);
        expect(inTx).toBeInstanceOf(StoreUnavailableError);
      } finally {
        release();
        await tx;
        await store.close();
      }
    });

    it('replaces connections the server terminates (as on a restart): the next call reconnects, nothing crashes', async () => {
      const store = await PgStore.open(db.url, { maxConnections: 2, connectTimeoutMs: 500 });
      try {
        // Every connection of the pool is terminated by the server, as on a restart.
        const admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        try {
          await store.db.get('SELECT 1 AS one');
          await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hangar' AND datname = current_database()");
        } finally {
          await admin.end();
        }
        // The idle connection died; the pool notices and the next call reconnects.
        await new Promise((r) => setTimeout(r, 100));
        expect((await store.db.get('SELECT 1 AS one'))?.one).toBe(1);
      } finally {
        await store.close();
      }
    });
  });
});
