// Workspaces migration (SQLite 7): a database from before workspaces keeps all its rows, every one
// in the default workspace, environments keep their ids and names (the table is rebuilt for
// per-workspace unique names), and API keys become organization admin keys.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { MIGRATIONS } from '../../src/adapters/store-sqlite/sqlite-migrations.ts';
import { DEFAULT_WORKSPACE_ID } from '../../src/domain/workspace.ts';
import { UniqueViolation } from '../../src/ports/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'hangar-ws-migration-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite migration 7 (workspaces)', () => {
  it('moves every existing row into the default workspace and keeps environment names unique per workspace', async () => {
    const file = join(dir, 'hangar.db');
    const old = new DatabaseSync(file);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version < 7)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, 'then');
    }
    const at = '2026-01-01T00:00:00.000Z';
    old.prepare('INSERT INTO environments (id, name, data) VALUES (?, ?, ?)').run('env_old', 'old-env', JSON.stringify({ type: 'environment', id: 'env_old', name: 'old-env' }));
    old.prepare('INSERT INTO agents (id, version, created_at, data) VALUES (?, 1, ?, ?)').run('agent_old', at, JSON.stringify({ type: 'agent', id: 'agent_old', version: 1 }));
    old.prepare('INSERT INTO api_keys (id, hash, created_at, revoked_at) VALUES (?, ?, ?, ?)').run('key_gone', 'h_gone', at, at);
    old.prepare('INSERT INTO api_keys (id, hash, created_at) VALUES (?, ?, ?)').run('key_live', 'h_live', at);
    old.close();

    const store = new SqliteStore(file);
    try {
      expect(await store.workspaces.get(DEFAULT_WORKSPACE_ID)).toMatchObject({ type: 'workspace', id: DEFAULT_WORKSPACE_ID, archived_at: null });
      expect(await store.environments.get('env_old')).toMatchObject({ name: 'old-env' });
      expect(await store.workspaces.ownerOf('environment', 'env_old')).toBe(DEFAULT_WORKSPACE_ID);
      expect(await store.workspaces.ownerOf('agent', 'agent_old')).toBe(DEFAULT_WORKSPACE_ID);
      await expect(store.environments.insert({ type: 'environment', id: 'env_dup', name: 'old-env', created_at: at })).rejects.toBeInstanceOf(UniqueViolation);
      await store.workspaces.insert({ type: 'workspace', id: 'wrkspc_other', created_at: at });
      await store.environments.insert({ type: 'environment', id: 'env_other', name: 'old-env', created_at: at }, 'wrkspc_other');
      expect(await store.apiKeys.get('key_live')).toMatchObject({ status: 'active', role: 'admin', workspaceId: null });
      expect(await store.apiKeys.get('key_gone')).toMatchObject({ status: 'inactive', revokedAt: at });
    } finally {
      await store.close();
    }
  });
});
