// PostgreSQL adapter of the store port: the same tables, columns and semantics as the SQLite
// adapter, on a `pg` pool with named statements, for several Hangar nodes sharing one database.
// This file holds the small repos (agents, environments, API keys, files); the session log, vaults,
// work queue and idempotency keys have their own files.
import { PgDb, isUniqueError, type PgDbOptions, type Row } from './pg-db.ts';
import { PgSessionRepo } from './pg-session-repo.ts';
import { PgVaultRepo } from './pg-vault-repo.ts';
import { PgEnvironmentKeyRepo, PgWorkRepo } from './pg-work-repo.ts';
import { PgPackageLayerRepo } from './pg-package-layer-repo.ts';
import { PgIdempotencyRepo } from './pg-idempotency-repo.ts';
import { PgWorkspaceRepo } from './pg-workspace-repo.ts';
import { DEFAULT_WORKSPACE_ID } from '../../domain/workspace.ts';
import { PgSpendRepo } from './pg-spend-repo.ts';
import { PgAuditRepo } from './pg-audit-repo.ts';
import { PgTelemetryDestinationRepo } from './pg-telemetry-repo.ts';
import {
  UniqueViolation,
  type AgentRepo, type ApiKeyRepo, type ApiKeySource, type ApiKeyMeta, type ApiKeyStatus, type EnvironmentRepo, type Json, type PageQuery,
  type Store, type FileRepo, type FileRow, type FileListQuery, type OutputCapture,
} from '../../ports/store.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';
import { API_KEY_COLUMNS, apiKeyRow, fileRow, withArchive } from '../store-common/store-rows.ts';

export class PgStore implements Store {
  readonly db: PgDb;
  readonly workspaces: PgWorkspaceRepo;
  readonly agents: AgentRepo;
  readonly environments: EnvironmentRepo;
  readonly sessions: PgSessionRepo;
  readonly apiKeys: ApiKeyRepo;
  readonly files: FileRepo;
  readonly vaults: PgVaultRepo;
  readonly work: PgWorkRepo;
  readonly environmentKeys: PgEnvironmentKeyRepo;
  readonly idempotency: PgIdempotencyRepo;
  readonly packageLayers: PgPackageLayerRepo;
  readonly spend: PgSpendRepo;
  readonly audit: PgAuditRepo;
  readonly telemetryDestinations: PgTelemetryDestinationRepo;

  private constructor(db: PgDb) {
    this.db = db;
    this.workspaces = new PgWorkspaceRepo(db);
    this.agents = new PgAgentRepo(db);
    this.environments = new PgEnvironmentRepo(db);
    this.sessions = new PgSessionRepo(db);
    this.apiKeys = new PgApiKeyRepo(db);
    this.files = new PgFileRepo(db);
    this.vaults = new PgVaultRepo(db);
    this.work = new PgWorkRepo(db);
    this.environmentKeys = new PgEnvironmentKeyRepo(db);
    this.idempotency = new PgIdempotencyRepo(db);
    this.packageLayers = new PgPackageLayerRepo(db);
    this.spend = new PgSpendRepo(db);
    this.audit = new PgAuditRepo(db);
    this.telemetryDestinations = new PgTelemetryDestinationRepo(db);
  }

  /** Connects to `url`, migrates (once across nodes) and returns the store. Throws `PgConnectError` on a bad URL or server. */
  static async open(url: string, opts: PgDbOptions = {}): Promise<PgStore> {
    return new PgStore(await PgDb.open(url, opts));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

class PgApiKeyRepo implements ApiKeyRepo {
  private readonly s: PgDb;
  constructor(s: PgDb) {
    this.s = s;
  }
  async count() {
    return Number((await this.s.get('SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL'))!.n);
  }
  async insert(id: string, hash: string, createdAt: string, meta: ApiKeyMeta = {}) {
    await this.s.run(`INSERT INTO api_keys (id, hash, created_at, name, hint, source, workspace_id, role, expires_at, created_by)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    id, hash, createdAt, meta.name ?? null, meta.hint ?? null, meta.source ?? 'cli', meta.workspaceId ?? null, meta.role ?? 'admin',
    meta.expiresAt ?? null, meta.createdBy ?? null);
  }
  async get(id: string) {
    const row = await this.s.get(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = ?`, id);
    return row && apiKeyRow(row);
  }
  async existsHash(hash: string) {
    return (await this.s.get('SELECT 1 AS x FROM api_keys WHERE hash = ? AND revoked_at IS NULL', hash)) !== undefined;
  }
  async findByHash(hash: string) {
    const row = await this.s.get(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE hash = ?`, hash);
    return row && apiKeyRow(row);
  }
  async list() {
    return (await this.s.all(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, seq`)).map(apiKeyRow);
  }
  async revoke(id: string, at: string) {
    return (await this.s.run("UPDATE api_keys SET revoked_at = ?, status = 'inactive' WHERE id = ? AND revoked_at IS NULL", at, id)) > 0;
  }
  async update(id: string, patch: { name?: string; status?: ApiKeyStatus }, at: string) {
    return this.s.tx(async (q) => {
      if (!(await q.get('SELECT 1 AS x FROM api_keys WHERE id = ? FOR UPDATE', id))) return false;
      if (patch.name !== undefined) await q.run('UPDATE api_keys SET name = ? WHERE id = ?', patch.name, id);
      if (patch.status === 'active') await q.run("UPDATE api_keys SET status = 'active', revoked_at = NULL WHERE id = ? AND status <> 'archived'", id);
      else if (patch.status) await q.run('UPDATE api_keys SET status = ?, revoked_at = COALESCE(revoked_at, ?) WHERE id = ?', patch.status, at, id);
      return true;
    });
  }
  async rotate(id: string, hash: string, hint: string) {
    return (await this.s.run("UPDATE api_keys SET hash = ?, hint = ? WHERE id = ? AND status = 'active'", hash, hint, id)) > 0;
  }
  async touch(id: string, at: string) {
    await this.s.run('UPDATE api_keys SET last_used_at = ? WHERE id = ?', at, id);
  }
  async setSource(id: string, source: ApiKeySource) {
    await this.s.run('UPDATE api_keys SET source = ? WHERE id = ?', source, id);
  }
}



class PgAgentRepo implements AgentRepo {
  private readonly s: PgDb;
  constructor(s: PgDb) {
    this.s = s;
  }

  async insert(agent: Json & { id: string; version: number; created_at: string }, workspaceId = DEFAULT_WORKSPACE_ID) {
    const data = JSON.stringify(agent);
    await this.s.tx(async (q) => {
      await q.run('INSERT INTO agents (id, version, created_at, data, workspace_id) VALUES (?, ?, ?, ?, ?)', agent.id, agent.version, agent.created_at, data, workspaceId);
      await q.run('INSERT INTO agent_versions (agent_id, version, data) VALUES (?, ?, ?)', agent.id, agent.version, data);
    });
  }

  async get(id: string, version?: number) {
    const head = await this.s.get('SELECT version, archived_at, data FROM agents WHERE id = ?', id);
    if (!head) return undefined;
    if (version === undefined || version === Number(head.version)) return withArchive(head.data, head.archived_at);
    const v = await this.s.get('SELECT data FROM agent_versions WHERE agent_id = ? AND version = ?', id, version);
    return v ? withArchive(v.data, head.archived_at) : undefined;
  }

  async addVersion(agent: Json & { id: string; version: number }, previousVersion: number) {
    const data = JSON.stringify(agent);
    return this.s.tx(async (q) => {
      const changed = await q.run('UPDATE agents SET version = ?, data = ? WHERE id = ? AND version = ?', agent.version, data, agent.id, previousVersion);
      if (changed === 0) return false;
      await q.run('INSERT INTO agent_versions (agent_id, version, data) VALUES (?, ?, ?)', agent.id, agent.version, data);
      return true;
    });
  }

  async archive(id: string, at: string) {
    await this.s.run('UPDATE agents SET archived_at = COALESCE(archived_at, ?) WHERE id = ?', at, id);
  }

  async list(q: PageQuery & { createdGte?: string; createdLte?: string; includeArchived: boolean; workspaceId?: string }) {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number> = [];
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    if (!q.includeArchived) where += ' AND archived_at IS NULL';
    if (q.createdGte) { where += ' AND created_at >= ?'; params.push(q.createdGte); }
    if (q.createdLte) { where += ' AND created_at <= ?'; params.push(q.createdLte); }
    const rows = await this.s.all(`SELECT seq, archived_at, data FROM agents ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => withArchive(r.data, r.archived_at));
  }

  async listVersions(id: string, q: PageQuery) {
    const head = await this.s.get('SELECT archived_at FROM agents WHERE id = ?', id);
    const k = keyset(q, 'version');
    const rows = await this.s.all(
      `SELECT version AS seq, data FROM agent_versions WHERE agent_id = ?${k.where}${k.orderBy}`, id, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => withArchive(r.data, head?.archived_at));
  }
}

class PgEnvironmentRepo implements EnvironmentRepo {
  private readonly s: PgDb;
  constructor(s: PgDb) {
    this.s = s;
  }

  async insert(env: Json & { id: string; name: string; created_at: string }, workspaceId = DEFAULT_WORKSPACE_ID) {
    try {
      await this.s.run('INSERT INTO environments (id, name, archived_at, data, workspace_id) VALUES (?, ?, ?, ?, ?)',
        env.id, env.name, (env.archived_at as string | null) ?? null, JSON.stringify(env), workspaceId);
    } catch (err) {
      if (isUniqueError(err)) throw new UniqueViolation(`an environment named "${env.name}" already exists`);
      throw err;
    }
  }

  async get(id: string) {
    const r = await this.s.get('SELECT data FROM environments WHERE id = ?', id);
    return r ? (JSON.parse(String(r.data)) as Json) : undefined;
  }

  async update(env: Json & { id: string; name: string }) {
    try {
      await this.s.run('UPDATE environments SET name = ?, archived_at = ?, data = ? WHERE id = ?',
        env.name, (env.archived_at as string | null) ?? null, JSON.stringify(env), env.id);
    } catch (err) {
      if (isUniqueError(err)) throw new UniqueViolation(`an environment named "${env.name}" already exists`);
      throw err;
    }
  }

  async delete(id: string) {
    return (await this.s.run('DELETE FROM environments WHERE id = ?', id)) > 0;
  }

  async list(q: PageQuery & { includeArchived: boolean; workspaceId?: string }) {
    const k = keyset(q);
    let where = q.includeArchived ? 'WHERE 1=1' : 'WHERE archived_at IS NULL';
    const params: string[] = [];
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    const rows = await this.s.all(`SELECT seq, data FROM environments ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => JSON.parse(String(r.data)) as Json);
  }
}

class PgFileRepo implements FileRepo {
  private readonly s: PgDb;
  constructor(s: PgDb) {
    this.s = s;
  }

  private toRow(r: Row): FileRow {
    return fileRow(r);
  }

  private async upsertCapture(q: { run: PgDb['run'] }, c: OutputCapture): Promise<void> {
    await q.run(
      `INSERT INTO output_captures (session_id, path, size_bytes, mtime_ms, sha256, file_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (session_id, path) DO UPDATE SET size_bytes = excluded.size_bytes, mtime_ms = excluded.mtime_ms,
       sha256 = excluded.sha256, file_id = excluded.file_id`,
      c.sessionId, c.path, c.sizeBytes, c.mtimeMs, c.sha256, c.fileId);
  }

  async insert(row: FileRow, capture?: OutputCapture, replaces?: string) {
    await this.s.tx(async (q) => {
      await q.run(`INSERT INTO files (id, scope_id, expires_at, sha256, data, workspace_id)
        VALUES (?, ?, ?, ?, ?, COALESCE((SELECT workspace_id FROM sessions WHERE id = ?), ?))`,
      row.file.id, row.scopeId, row.expiresAt, row.sha256, JSON.stringify(row.file), row.scopeId, row.workspaceId ?? DEFAULT_WORKSPACE_ID);
      if (capture) await this.upsertCapture(q, capture);
      if (replaces !== undefined) await q.run('DELETE FROM files WHERE id = ?', replaces);
    });
  }

  async get(id: string) {
    const r = await this.s.get('SELECT * FROM files WHERE id = ?', id);
    return r ? this.toRow(r) : undefined;
  }

  async list(q: FileListQuery) {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number | string[]> = [];
    if (q.scopeId !== undefined) { where += ' AND scope_id = ?'; params.push(q.scopeId); }
    if (q.workspaceId !== undefined) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    if (q.ids) { where += ' AND id = ANY(?::text[])'; params.push(q.ids); }
    if (q.liveAt !== undefined) { where += ' AND (expires_at IS NULL OR expires_at > ?)'; params.push(q.liveAt); }
    const rows = await this.s.all(`SELECT * FROM files ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => this.toRow(r));
  }

  async delete(id: string) {
    return (await this.s.run('DELETE FROM files WHERE id = ?', id)) > 0;
  }

  async scopeBytes(scopeId: string) {
    return Number((await this.s.get(
      "SELECT COALESCE(SUM((data::json->>'size_bytes')::bigint), 0) AS n FROM files WHERE scope_id = ?", scopeId))!.n);
  }

  async expired(now: string, limit: number) {
    return (await this.s.all('SELECT id FROM files WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?', now, limit))
      .map((r) => String(r.id));
  }

  async capture(sessionId: string, path: string) {
    const r = await this.s.get('SELECT * FROM output_captures WHERE session_id = ? AND path = ?', sessionId, path);
    if (!r) return undefined;
    return {
      sessionId, path, sizeBytes: Number(r.size_bytes), mtimeMs: Number(r.mtime_ms), sha256: String(r.sha256), fileId: String(r.file_id),
    };
  }

  async putCapture(capture: OutputCapture) {
    await this.upsertCapture(this.s, capture);
  }

  async deleteCaptures(sessionId: string) {
    await this.s.run('DELETE FROM output_captures WHERE session_id = ?', sessionId);
  }
}
