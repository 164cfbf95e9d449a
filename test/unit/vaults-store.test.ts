// The SQLite vault repo against its port contract: the active-credential limit and key
// uniqueness (archived keys free again), compare-and-swap updates, cascading archive that purges
// ciphertext, rotation queries and the master-key check value; a replaced secret's old ciphertext
// is gone from the database file, its WAL and shared memory.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/adapters/store-sqlite/sqlite-store.ts';
import { UniqueViolation, type CredentialRow } from '../../src/ports/store.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { VaultService } from '../../src/harness/vault-service.ts';
import { AesGcmSecretBox } from '../../src/adapters/secret-box/aes-gcm-secret-box.ts';
import { systemClock } from '../../src/ports/clock.ts';

let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(':memory:');
});
afterEach(async () => {
  await store.close();
});

const NOW = '2026-06-01T00:00:00.000Z';
let n = 0;

function row(vaultId: string, key: string, over: Partial<CredentialRow> = {}): CredentialRow {
  const id = `vcrd_${++n}`;
  return {
    credential: { type: 'vault_credential', id, vault_id: vaultId, created_at: NOW, updated_at: NOW, archived_at: null, auth: { type: 'static_bearer' } },
    key,
    sealed: `hsb1.k1.${id}`,
    sealedKeyId: 'k1',
    ...over,
  };
}

async function vault(id: string) {
  await store.vaults.insert({ type: 'vault', id, display_name: id, metadata: {}, created_at: NOW, updated_at: NOW, archived_at: null });
}

describe('SqliteVaultRepo', () => {
  it('enforces the active limit and key uniqueness per vault', async () => {
    await vault('vlt_a');
    await vault('vlt_b');
    expect(await store.vaults.insertCredential(row('vlt_a', 'mcp:x'), 2)).toBe('inserted');
    await expect(store.vaults.insertCredential(row('vlt_a', 'mcp:x'), 2)).rejects.toBeInstanceOf(UniqueViolation);
    expect(await store.vaults.insertCredential(row('vlt_b', 'mcp:x'), 2)).toBe('inserted');
    expect(await store.vaults.insertCredential(row('vlt_a', 'mcp:y'), 2)).toBe('inserted');
    expect(await store.vaults.insertCredential(row('vlt_a', 'mcp:z'), 2)).toBe('limit');
  });

  it('frees an archived key and does not count archived credentials', async () => {
    await vault('vlt_a');
    const first = row('vlt_a', 'env:K');
    await store.vaults.insertCredential(first, 1);
    await store.vaults.updateCredential({ ...first, credential: { ...first.credential, archived_at: NOW }, sealed: null, sealedKeyId: null });
    expect(await store.vaults.insertCredential(row('vlt_a', 'env:K'), 1)).toBe('inserted');
    const archived = await store.vaults.getCredential(first.credential.id);
    expect(archived).toMatchObject({ sealed: null, sealedKeyId: null, credential: { archived_at: NOW } });
  });

  it('updates with compare-and-swap on the sealed value', async () => {
    await vault('vlt_a');
    const r = row('vlt_a', 'mcp:x');
    await store.vaults.insertCredential(r, 20);
    expect(await store.vaults.updateCredential({ ...r, sealed: 'hsb1.k1.two' }, 'stale')).toBe(false);
    expect(await store.vaults.updateCredential({ ...r, sealed: 'hsb1.k1.two' }, r.sealed)).toBe(true);
    expect((await store.vaults.getCredential(r.credential.id))!.sealed).toBe('hsb1.k1.two');
  });

  it('archives a vault with its active credentials, purging their ciphertext, and deletes everything', async () => {
    await vault('vlt_a');
    const a = row('vlt_a', 'mcp:a');
    const b = row('vlt_a', 'mcp:b');
    await store.vaults.insertCredential(a, 20);
    await store.vaults.insertCredential(b, 20);
    const count = await store.vaults.archiveCascade(
      { type: 'vault', id: 'vlt_a', archived_at: NOW },
      (c) => ({ ...c, archived_at: NOW, updated_at: NOW }),
    );
    expect(count).toBe(2);
    expect((await store.vaults.get('vlt_a'))!.archived_at).toBe(NOW);
    for (const r of [a, b]) expect(await store.vaults.getCredential(r.credential.id)).toMatchObject({ sealed: null, credential: { archived_at: NOW } });
    expect((await store.vaults.listCredentials('vlt_a', { limit: 10, order: 'asc', includeArchived: false })).data).toEqual([]);
    expect((await store.vaults.listCredentials('vlt_a', { limit: 10, order: 'asc', includeArchived: true })).data).toHaveLength(2);
    expect(await store.vaults.delete('vlt_a')).toBe(true);
    expect(await store.vaults.getCredential(a.credential.id)).toBeUndefined();
    expect(await store.vaults.delete('vlt_a')).toBe(false);
  });

  it('finds active credentials by key across vaults and lists ciphertext under retired keys', async () => {
    await vault('vlt_a');
    await vault('vlt_b');
    await store.vaults.insertCredential(row('vlt_a', 'mcp:x'), 20);
    await store.vaults.insertCredential(row('vlt_b', 'mcp:x', { sealedKeyId: 'k0', sealed: 'hsb1.k0.old' }), 20);
    expect((await store.vaults.findActiveCredentials(['vlt_a', 'vlt_b'], 'mcp:x')).map((r) => r.credential.vault_id).sort()).toEqual(['vlt_a', 'vlt_b']);
    expect(await store.vaults.findActiveCredentials([], 'mcp:x')).toEqual([]);
    expect((await store.vaults.sealedUnderOtherKeys('k1', 10)).map((r) => r.sealed)).toEqual(['hsb1.k0.old']);
  });

  it('stores one master-key check value', async () => {
    expect(await store.vaults.keyCheck()).toBeUndefined();
    await store.vaults.putKeyCheck('hsb1.k1.check', 'k1', NOW);
    await store.vaults.putKeyCheck('hsb1.k2.check', 'k2', NOW);
    expect(await store.vaults.keyCheck()).toBe('hsb1.k2.check');
  });
});

describe('replacing a secret leaves no old ciphertext on disk', () => {
  it('an updated credential secret: the old sealed value is in none of hangar.db, -wal, -shm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hangar-wal-'));
    const file = join(dir, 'hangar.db');
    const fileStore = new SqliteStore(file);
    try {
      const vaults = new VaultService({ store: fileStore, box: new AesGcmSecretBox([randomBytes(32)]), clock: systemClock });
      const v = await vaults.createVault({ display_name: 'wal' });
      const c = await vaults.createCredential(v.id, { auth: { type: 'static_bearer', mcp_server_url: 'https://mcp.example.com/mcp', token: `old-${'o'.repeat(64)}` } });
      const before = (await fileStore.vaults.getCredential(c.id))!.sealed!;
      await vaults.updateCredential(v.id, c.id, { auth: { type: 'static_bearer', token: `new-${'n'.repeat(64)}` } });
      const after = (await fileStore.vaults.getCredential(c.id))!.sealed!;
      expect(after).not.toBe(before);
      const onDisk = () => Buffer.concat(['', '-wal', '-shm'].map((s) => file + s).filter(existsSync).map((f) => readFileSync(f)));
      // The ciphertext part of the old sealed value (the id and key id prefix are not secret).
      const oldCiphertext = before.split('.')[3];
      expect(oldCiphertext.length).toBeGreaterThan(60);
      expect(onDisk().includes(after.split('.')[3])).toBe(true); // the detector finds the current one
      expect(onDisk().includes(oldCiphertext)).toBe(false);
    } finally {
      await fileStore.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
