// Workspaces on PostgreSQL (migration 2): a database at version 1 with data upgrades with every row
// in the default workspace, and `hangar db migrate-to-postgres` copies workspaces, bound keys and
// each resource's workspace from SQLite (the target's own default workspace is replaced by the
// source's, not duplicated).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PgStore } from '../../src/adapters/store-postgres/pg-store.ts';
import { PG_MIGRATIONS } from '../../src/adapters/store-postgres/pg-migrations.ts';
import { migrateSqliteToPostgres } from '../../src/adapters/store-postgres/pg-import-sqlite.ts';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { DEFAULT_WORKSPACE_ID } from '../../src/domain/workspace.ts';
import { createTestDatabase, postgresServerUrl, type TestDatabase } from '../kit/postgres.ts';

const server = await postgresServerUrl();
const dbs: TestDatabase[] = [];
const dir = mkdtempSync(join(tmpdir(), 'hangar-ws-pg-'));
afterAll(async () => {
  for (const d of dbs) await d.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!server)('PostgreSQL migration 2 (workspaces)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(server!);
    dbs.push(db);
  });

  it('upgrades a version-1 database with data: every row in the default workspace', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      await c.query(PG_MIGRATIONS.find((m) => m.version === 1)!.sql);
      await c.query("INSERT INTO schema_migrations VALUES (1, 'then')");
      await c.query("INSERT INTO environments (id, name, data) VALUES ('env_old', 'old', '{\"id\":\"env_old\",\"name\":\"old\"}')");
      await c.query("INSERT INTO api_keys (id, hash, created_at) VALUES ('key_old', 'h_old', '2026-01-01T00:00:00Z')");
    } finally {
      await c.end();
    }
    const store = await PgStore.open(db.url, { maxConnections: 2 });
    try {
      expect(await store.workspaces.get(DEFAULT_WORKSPACE_ID)).toMatchObject({ id: DEFAULT_WORKSPACE_ID, type: 'workspace' });
      expect(await store.workspaces.ownerOf('environment', 'env_old')).toBe(DEFAULT_WORKSPACE_ID);
      expect(await store.apiKeys.get('key_old')).toMatchObject({ role: 'admin', workspaceId: null, status: 'active' });
      await store.workspaces.insert({ type: 'workspace', id: 'wrkspc_x', created_at: '2026-01-01T00:00:00Z' });
      await store.environments.insert({ type: 'environment', id: 'env_x', name: 'old', created_at: '2026-01-01T00:00:00Z' }, 'wrkspc_x');
    } finally {
      await store.close();
    }
  });

  it('migrate-to-postgres copies workspaces, key bindings and resource workspaces', async () => {
    const target = await createTestDatabase(server!);
    dbs.push(target);
    const dataDir = join(dir, 'data');
    const sqlite = new SqliteStore(join(dataDir, 'hangar.db'));
    const at = '2026-01-01T00:00:00.000Z';
    await sqlite.workspaces.insert({ type: 'workspace', id: 'wrkspc_team', name: 'team', created_at: at });
    await sqlite.agents.insert({ type: 'agent', id: 'agent_team', version: 1, created_at: at }, 'wrkspc_team');
    await sqlite.apiKeys.insert('key_team', 'h_team', at, { workspaceId: 'wrkspc_team', role: 'runner' });
    await sqlite.close();
    // The target is migrated (and so holds its own default workspace) before the copy.
    await (await PgStore.open(target.url, { maxConnections: 2 })).close();
    await migrateSqliteToPostgres({ dataDir, url: target.url, openSqlite: async (f) => new SqliteStore(f) as never });
    const store = await PgStore.open(target.url, { maxConnections: 2 });
    try {
      const all = (await store.workspaces.list({ limit: 100, order: 'asc', includeArchived: true })).data.map((w) => w.id);
      expect(all.sort()).toEqual([DEFAULT_WORKSPACE_ID, 'wrkspc_team']);
      expect(await store.workspaces.ownerOf('agent', 'agent_team')).toBe('wrkspc_team');
      expect(await store.apiKeys.get('key_team')).toMatchObject({ workspaceId: 'wrkspc_team', role: 'runner' });
    } finally {
      await store.close();
    }
  });
});
