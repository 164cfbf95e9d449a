// PostgreSQL part of the store port for vaults and credentials: ciphertext only, sealed by the
// secret box before it gets here. Archive and delete drop the ciphertext from the live row
// (`sealed` NULL); the old row versions PostgreSQL keeps until VACUUM are described in
// docs/notes/pgstore.md ("VACUUM and purged ciphertext").
import { DEFAULT_WORKSPACE_ID } from '../../domain/workspace.ts';
import { UniqueViolation, type CredentialListQuery, type CredentialRow, type Json, type PageQuery, type VaultRepo } from '../../ports/store.ts';
import { isUniqueError, type PgDb } from './pg-db.ts';
import { credentialRow as toCredential, withArchive as withArchived, type Row } from '../store-common/store-rows.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';

/** Advisory-lock namespace serializing credential inserts per vault (count then insert). */
const VAULT_INSERT_LOCK = 0x76617531;

const withArchive = (r: Row): Json => withArchived(r.data, r.archived_at);

export class PgVaultRepo implements VaultRepo {
  private readonly s: PgDb;

  constructor(s: PgDb) {
    this.s = s;
  }

  async insert(vault: Json & { id: string; created_at: string }, workspaceId = DEFAULT_WORKSPACE_ID) {
    await this.s.run('INSERT INTO vaults (id, archived_at, data, workspace_id) VALUES (?, ?, ?, ?)', vault.id, (vault.archived_at as string | null) ?? null, JSON.stringify(vault), workspaceId);
  }

  async get(id: string) {
    const r = await this.s.get('SELECT archived_at, data FROM vaults WHERE id = ?', id);
    return r ? withArchive(r) : undefined;
  }

  async update(vault: Json & { id: string }) {
    await this.s.run('UPDATE vaults SET archived_at = ?, data = ? WHERE id = ?', (vault.archived_at as string | null) ?? null, JSON.stringify(vault), vault.id);
  }

  async archiveCascade(vault: Json & { id: string }, archiveCredential: (c: CredentialRow['credential']) => Json) {
    return this.s.tx(async (q) => {
      await q.run('UPDATE vaults SET archived_at = ?, data = ? WHERE id = ?', (vault.archived_at as string | null) ?? null, JSON.stringify(vault), vault.id);
      const active = (await q.all('SELECT * FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL ORDER BY seq FOR UPDATE', vault.id))
        .map(toCredential);
      for (const row of active) {
        const archived = archiveCredential(row.credential);
        await q.run('UPDATE vault_credentials SET archived_at = ?, sealed = NULL, sealed_key_id = NULL, data = ? WHERE id = ?',
          (archived.archived_at as string | null) ?? null, JSON.stringify(archived), row.credential.id);
      }
      return active.length;
    });
  }

  async delete(id: string) {
    return this.s.tx(async (q) => {
      await q.run('DELETE FROM vault_credentials WHERE vault_id = ?', id);
      return (await q.run('DELETE FROM vaults WHERE id = ?', id)) > 0;
    });
  }

  async list(q: PageQuery & { includeArchived: boolean; workspaceId?: string }) {
    const k = keyset(q);
    let where = q.includeArchived ? 'WHERE 1=1' : 'WHERE archived_at IS NULL';
    const params: string[] = [];
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    const rows = await this.s.all(`SELECT seq, archived_at, data FROM vaults ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, withArchive);
  }

  async insertCredential(row: CredentialRow, maxActive: number) {
    const c = row.credential;
    try {
      return await this.s.tx(async (q) => {
        // Count and insert must not interleave with another node's insert into the same vault.
        await q.get('SELECT pg_advisory_xact_lock(?::int, hashtext(?))', VAULT_INSERT_LOCK, c.vault_id);
        const n = Number((await q.get('SELECT COUNT(*) AS n FROM vault_credentials WHERE vault_id = ? AND archived_at IS NULL', c.vault_id))!.n);
        if (n >= maxActive) return 'limit' as const;
        await q.run(
          'INSERT INTO vault_credentials (id, vault_id, key, archived_at, sealed, sealed_key_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
          c.id, c.vault_id, row.key, c.archived_at, row.sealed, row.sealedKeyId, JSON.stringify(c));
        return 'inserted' as const;
      });
    } catch (err) {
      if (isUniqueError(err)) throw new UniqueViolation('an active credential with this key already exists in the vault');
      throw err;
    }
  }

  async getCredential(id: string) {
    const r = await this.s.get('SELECT * FROM vault_credentials WHERE id = ?', id);
    return r ? toCredential(r) : undefined;
  }

  async updateCredential(row: CredentialRow, ifSealed?: string | null) {
    const c = row.credential;
    if (ifSealed === undefined) {
      return (await this.s.run('UPDATE vault_credentials SET archived_at = ?, sealed = ?, sealed_key_id = ?, data = ? WHERE id = ?',
        c.archived_at, row.sealed, row.sealedKeyId, JSON.stringify(c), c.id)) > 0;
    }
    // Compare-and-swap in one statement: the row is written only while it still holds `ifSealed`.
    return (await this.s.run(
      'UPDATE vault_credentials SET archived_at = ?, sealed = ?, sealed_key_id = ?, data = ? WHERE id = ? AND sealed IS NOT DISTINCT FROM ?::text',
      c.archived_at, row.sealed, row.sealedKeyId, JSON.stringify(c), c.id, ifSealed)) > 0;
  }

  async deleteCredential(id: string) {
    return (await this.s.run('DELETE FROM vault_credentials WHERE id = ?', id)) > 0;
  }

  async listCredentials(vaultId: string, q: CredentialListQuery) {
    const k = keyset(q);
    const archived = q.includeArchived ? '' : ' AND archived_at IS NULL';
    const rows = await this.s.all(`SELECT * FROM vault_credentials WHERE vault_id = ?${archived}${k.where}${k.orderBy}`, vaultId, ...k.params, q.limit + 1);
    return pageOf(rows, q, toCredential);
  }

  async findActiveCredentials(vaultIds: string[], key: string) {
    if (vaultIds.length === 0) return [];
    return (await this.s.all('SELECT * FROM vault_credentials WHERE key = ? AND archived_at IS NULL AND vault_id = ANY(?::text[])', key, vaultIds))
      .map(toCredential);
  }

  async sealedUnderOtherKeys(keyId: string, limit: number) {
    return (await this.s.all('SELECT * FROM vault_credentials WHERE sealed IS NOT NULL AND sealed_key_id != ? ORDER BY seq LIMIT ?', keyId, limit))
      .map(toCredential);
  }

  async keyCheck() {
    const r = await this.s.get('SELECT sealed FROM key_check WHERE id = 1');
    return r ? String(r.sealed) : undefined;
  }

  async putKeyCheck(sealed: string, keyId: string, at: string) {
    await this.s.run(
      `INSERT INTO key_check (id, sealed, key_id, updated_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET sealed = excluded.sealed, key_id = excluded.key_id, updated_at = excluded.updated_at`,
      sealed, keyId, at);
  }
}
