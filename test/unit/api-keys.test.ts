// Bootstrap-key rules (src/server/auth.ts) over a real SQLite store: which stored keys a start with
// or without HANGAR_API_KEY revokes, keeps or generates, including keys stored before keys had a source.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { MIGRATIONS } from '../../src/adapters/store-sqlite/sqlite-migrations.ts';
import { bootstrapApiKey, createApiKey, hashKey, keyHint } from '../../src/server/auth.ts';
import { ConfigError } from '../../src/server/config.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-02T00:00:00.000Z';
const A = 'sk-value-a-000000000000';
const B = 'sk-value-b-111111111111';
let store: SqliteStore;

beforeEach(() => {
  store = new SqliteStore(':memory:');
});
afterEach(async () => {
  await store.close();
});

const active = async (key: string) => store.apiKeys.existsHash(hashKey(key));

describe('bootstrapApiKey', () => {
  it('stores the configured key as the env key with a hint, once', async () => {
    expect(await bootstrapApiKey(store.apiKeys, A, NOW)).toBeUndefined();
    expect(await bootstrapApiKey(store.apiKeys, A, LATER)).toBeUndefined();
    expect(await store.apiKeys.list()).toEqual([{ id: expect.stringMatching(/^key_/), name: 'HANGAR_API_KEY', hint: '…0000', source: 'env', createdAt: NOW, revokedAt: null, status: 'active', workspaceId: null, role: 'admin', expiresAt: null, lastUsedAt: null, createdBy: null }]);
    expect(keyHint(A)).toBe('…0000');
  });

  it('revokes the previous env key when the value changes, and refuses the revoked value later', async () => {
    await bootstrapApiKey(store.apiKeys, A, NOW);
    await bootstrapApiKey(store.apiKeys, B, LATER);
    expect(await active(A)).toBe(false);
    expect(await active(B)).toBe(true);
    expect((await store.apiKeys.findByHash(hashKey(A)))?.revokedAt).toBe(LATER);
    await expect(bootstrapApiKey(store.apiKeys, A, LATER)).rejects.toBeInstanceOf(ConfigError);
  });

  it('treats keys stored before keys had a source as bootstrap keys when the variable names another', async () => {
    await store.apiKeys.insert('key_old1', hashKey(A), NOW, { source: 'legacy' });
    await store.apiKeys.insert('key_old2', hashKey(B), NOW, { source: 'legacy' });
    // Unset: a legacy key may be the one generated at first start, so it is kept.
    expect(await bootstrapApiKey(store.apiKeys, undefined, LATER)).toBeUndefined();
    expect(await active(A)).toBe(true);
    // Set to one of them: that one becomes the env key, the other is revoked.
    await bootstrapApiKey(store.apiKeys, B, LATER);
    expect(await active(A)).toBe(false);
    expect(await active(B)).toBe(true);
    expect((await store.apiKeys.findByHash(hashKey(B)))?.source).toBe('env');
  });

  it('without the variable revokes the env key, keeps CLI keys, and generates a key only when none is left', async () => {
    await bootstrapApiKey(store.apiKeys, A, NOW);
    const cli = await createApiKey(store.apiKeys, 'ops', NOW);
    expect(await bootstrapApiKey(store.apiKeys, undefined, LATER)).toBeUndefined();
    expect(await active(A)).toBe(false);
    expect(await active(cli.key)).toBe(true);
    expect(await store.apiKeys.revoke(cli.id, LATER)).toBe(true);
    expect(await store.apiKeys.revoke(cli.id, LATER)).toBe(false);
    const generated = await bootstrapApiKey(store.apiKeys, undefined, LATER);
    expect(generated).toMatch(/^sk-hangar-/);
    expect(await active(generated!)).toBe(true);
    expect(await bootstrapApiKey(store.apiKeys, undefined, LATER)).toBeUndefined();
    expect(await store.apiKeys.count()).toBe(1);
  });
});

describe('migration to revocable keys', () => {
  it('keeps the keys of an older database, marked legacy and active', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-keys-mig-'));
    try {
      const file = join(dir, 'hangar.db');
      const old = new DatabaseSync(file);
      old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      for (const m of MIGRATIONS.filter((x) => x.version < 5)) {
        old.exec(m.sql);
        old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, NOW);
      }
      old.prepare('INSERT INTO api_keys (id, hash, created_at) VALUES (?, ?, ?)').run('key_before', hashKey(A), NOW);
      old.close();
      const upgraded = new SqliteStore(file);
      expect(await upgraded.apiKeys.list()).toEqual([{ id: 'key_before', name: null, hint: null, source: 'legacy', createdAt: NOW, revokedAt: null, status: 'active', workspaceId: null, role: 'admin', expiresAt: null, lastUsedAt: null, createdBy: null }]);
      expect(await upgraded.apiKeys.existsHash(hashKey(A))).toBe(true);
      await upgraded.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
