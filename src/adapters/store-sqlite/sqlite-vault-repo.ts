// SQLite part of the store port for vaults and credentials. Secrets arrive already sealed by the
// secret box; this repo only stores ciphertext. Purges (archive, delete, secret replacement) run
// with `secure_delete` so freed ciphertext is zeroed, and truncate the WAL afterwards.
import { DEFAULT_WORKSPACE_ID } from '../../domain/workspace.ts';
import { UniqueViolation, type CredentialListQuery, type CredentialRow, type Json, type Page, type PageQuery, type VaultRepo } from '../../ports/store.ts';
import type { SqliteStore } from './sqlite-store.ts';
import { keyset, pageOf } from './sqlite-paging.ts';
import { credentialRow as toCredential, withArchive as withArchived, type Row } from '../store-common/store-rows.ts';

const withArchive = (r: Row): Json => withArchived(r.data, r.archived_at);

export class SqliteVaultRepo implements VaultRepo {
  private readonly s: SqliteStore;

  constructor(s: SqliteStore) {
    this.s = s;
  }

  /** Runs `fn` in a transaction with freed content zeroed; optionally truncates the WAL afterwards. */
  private purging<T>(fn: () => T, truncateWal: boolean): T {
    this.s.run('PRAGMA secure_delete = ON');
    try {
      return this.s.tx(fn);
    } finally {
      this.s.run('PRAGMA secure_delete = OFF');
      // Old page images holding the ciphertext otherwise linger in the WAL until it is reused.
      if (truncateWal) this.s.get('PRAGMA wal_checkpoint(TRUNCATE)');
    }
  }

  async insert(vault: Json & { id: string; created_at: string }, workspaceId = DEFAULT_WORKSPACE_ID) {
    this.s.run('INSERT INTO vaults (id, archived_at, data, workspace_id) VALUES (?, ?, ?, ?)', vault.id, (vault.archived_at as string | null) ?? null, JSON.stringify(vault), workspaceId);
  }

  async get(id: string) {
    const r = this.s.get('SELECT archived_at, data FROM vaults WHERE id = ?', id);
    return r ? withArchive(r) : undefined;
  }

  async update(vault: Json & { id: string }) {
    this.s.run('UPDATE vaults SET archived_at = ?, data = ? WHERE id = ?', (vault.archived_at as string | null) ?? null, JSON.stringify(vault), vault.id);
  }

  async archiveCascade(vault: Json & { id: string }, archiveCredential: (c: CredentialRow['credential']) => Json) {
    return this.purging(() => {
      this.s.run('UPDATE vaults SET archived_at = ?, data = ? WHERE id = ?', (vault.archived_at as string | null) ?? null, JSON.stringify(vault), vault.id);
      const active = this.s.all('SELECT * FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL', vault.id).map(toCredential);
      for (const row of active) {
        const archived = archiveCredential(row.credential);
        this.s.run('UPDATE vault_credentials SET archived_at = ?, sealed = NULL, sealed_key_id = NULL, data = ? WHERE id = ?',
          (archived.archived_at as string | null) ?? null, JSON.stringify(archived), row.credential.id);
      }
      return active.length;
    }, true);
  }

  async delete(id: string) {
    return this.purging(() => {
      this.s.run('DELETE FROM vault_credentials WHERE vault_id = ?', id);
      return this.s.run('DELETE FROM vaults WHERE id = ?', id) > 0;
    }, true);
  }

  async list(q: PageQuery & { includeArchived: boolean; workspaceId?: string }) {
    const k = keyset(q);
    let where = q.includeArchived ? 'WHERE 1=1' : 'WHERE archived_at IS NULL';
    const params: string[] = [];
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    const rows = this.s.all(`SELECT seq, archived_at, data FROM vaults ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, withArchive);
  }

  async insertCredential(row: CredentialRow, maxActive: number) {
    const c = row.credential;
    try {
      return this.s.tx(() => {
        const n = Number(this.s.get('SELECT COUNT(*) AS n FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL', c.vault_id)!.n);
        if (n >= maxActive) return 'limit' as const;
        this.s.run(
          'INSERT INTO vault_credentials (id, vault_id, key, archived_at, sealed, sealed_key_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
          c.id, c.vault_id, row.key, c.archived_at, row.sealed, row.sealedKeyId, JSON.stringify(c));
        return 'inserted' as const;
      });
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed/.test(err.message)) throw new UniqueViolation('an active credential with this key already exists in the vault');
      throw err;
    }
  }

  async getCredential(id: string) {
    const r = this.s.get('SELECT * FROM vault_credentials WHERE id = ?', id);
    return r ? toCredential(r) : undefined;
  }

  async updateCredential(row: CredentialRow, ifSealed?: string | null) {
    const c = row.credential;
    const write = () => {
      if (ifSealed !== undefined) {
        const current = this.s.get('SELECT sealed FROM vault_credentials WHERE id = ?', c.id);
        if (!current || ((current.sealed as string | null) ?? null) !== ifSealed) return false;
      }
      return this.s.run('UPDATE vault_credentials SET archived_at = ?, sealed = ?, sealed_key_id = ?, data = ? WHERE id = ?',
        c.archived_at, row.sealed, row.sealedKeyId, JSON.stringify(c), c.id) > 0;
    };
    // Replacing or dropping ciphertext (update, refresh, re-seal, archive) zeroes the old bytes and
    // truncates the WAL, whose older page images would otherwise keep the old ciphertext.
    const old = this.s.get('SELECT sealed FROM vault_credentials WHERE id = ?', c.id);
    const sealedChanges = old !== undefined && ((old.sealed as string | null) ?? null) !== row.sealed;
    if (!sealedChanges) return this.s.tx(write);
    return this.purging(write, true);
  }

  async deleteCredential(id: string) {
    return this.purging(() => this.s.run('DELETE FROM vault_credentials WHERE id = ?', id) > 0, true);
  }

  async listCredentials(vaultId: string, q: CredentialListQuery) {
    const k = keyset(q);
    const archived = q.includeArchived ? '' : ' AND archived_at IS NULL';
    const rows = this.s.all(`SELECT * FROM vault_credentials WHERE vault_id = ?${archived}${k.where}${k.orderBy}`, vaultId, ...k.params, q.limit + 1);
    return pageOf(rows, q, toCredential);
  }

  async findActiveCredentials(vaultIds: string[], key: string) {
    if (vaultIds.length === 0) return [];
    return this.s.all(
      `SELECT * FROM vault_credentials WHERE key = ? AND archived_at IS NULL AND vault_id IN (${vaultIds.map(() => '?').join(',')})`,
      key, ...vaultIds).map(toCredential);
  }

  async sealedUnderOtherKeys(keyId: string, limit: number) {
    return this.s.all('SELECT * FROM vault_credentials WHERE sealed IS NOT NULL AND sealed_key_id != ? ORDER BY seq LIMIT ?', keyId, limit)
      .map(toCredential);
  }

  async keyCheck() {
    const r = this.s.get('SELECT sealed FROM key_check WHERE id = 1');
    return r ? String(r.sealed) : undefined;
  }

  async putKeyCheck(sealed: string, keyId: string, at: string) {
    this.s.run(
      `INSERT INTO key_check (id, sealed, key_id, updated_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, key_id = excluded.key_id, updated_at = excluded.updated_at`,
      sealed, keyId, at);
  }
}
