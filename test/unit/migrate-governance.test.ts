// `hangar db migrate-to-postgres` copies the tables of issue 11 (spend limits and ledger, waiting
// sessions, audit events, telemetry destinations with their sealed headers) like every other table:
// an SQLite data dir holding them migrates, and the PostgreSQL store reads the same rows back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { PgStore } from '../../src/adapters/store-postgres/pg-store.ts';
import { migrateSqliteToPostgres } from '../../src/adapters/store-postgres/pg-import-sqlite.ts';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from '../kit/postgres.ts';

const server = await postgresServerUrl();
let db: TestDatabase;
let dir: string;
const NOW = '2026-05-01T00:00:00.000Z';

describe.skipIf(!server)('migrate-to-postgres with spend, audit and telemetry tables', () => {
  beforeAll(async () => {
    db = await createTestDatabase(server!);
    dir = mkdtempSync(join(tmpdir(), 'hangar-migrate-gov-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('copies limits, ledger, waits, audit events and destinations', async () => {
    const sqlite = new SqliteStore(join(dir, 'hangar.db'));
    const limit = { type: 'spend_limit' as const, id: 'spl_1', amount: '100', currency: 'USD' as const, is_enabled: true as const, period: 'monthly' as const, scope: { type: 'organization' as const }, created_at: NOW, updated_at: NOW };
    await sqlite.spend.putLimit({ limit, scopeKey: 'organization' });
    await sqlite.sessions.insert({ session: { type: 'session', id: 'sesn_1', status: 'running', agent: { id: 'agent_x', version: 1 }, created_at: NOW }, runningSince: 0, retryCount: 0 }, []);
    await sqlite.sessions.commit('sesn_1', () => ({ now: NOW, patch: { fields: { _reserved: { r: 50 }, _spend_wait: { limit_id: 'spl_1', scope: 'organization', month: '2026-05', needed_micros: 1 } } } }));
    const audit = {
      type: 'audit_event' as const, id: 'audevt_1', created_at: NOW, actor: { type: 'api_key', key_id: 'key_1', role: 'admin' }, method: 'POST', route: '/v1/agents',
      resource: { type: 'agent', id: 'agent_1' }, parent: null, workspace_id: 'wrkspc_default', status: 200, request_id: 'req_1',
    };
    await sqlite.audit.append(audit);
    const dest = { destination: { type: 'telemetry_destination', id: 'tdst_1', created_at: NOW, updated_at: NOW }, sealed: 'sealed-blob', sealedKeyId: 'k', revision: 3 };
    await sqlite.telemetryDestinations.insert(dest);
    await sqlite.close();

    await migrateSqliteToPostgres({ dataDir: dir, url: db.url, openSqlite: async (file) => new SqliteStore(file) });
    const pg = await PgStore.open(db.url, { maxConnections: 2 });
    try {
      expect((await pg.spend.getLimit('spl_1'))!.limit).toEqual(limit);
      expect(await pg.spend.ledger(['organization'])).toEqual([{ scope: 'organization', month: '2026-05', spentMicros: 0, reservedMicros: 50 }]);
      expect(await pg.spend.waiting('organization')).toEqual(['sesn_1']);
      expect((await pg.audit.list({ limit: 10, order: 'asc' })).data).toEqual([audit]);
      expect(await pg.telemetryDestinations.get('tdst_1')).toEqual(dest);
    } finally {
      await pg.close();
    }
  });
});
