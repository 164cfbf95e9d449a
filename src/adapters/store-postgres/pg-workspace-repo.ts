// PostgreSQL part of the store port for workspaces: the workspace objects, and which workspace a
// top-level resource belongs to (the `workspace_id` column of every such table, migration 2).
import type { Json, Page, PageQuery, WorkspaceRepo, WorkspaceResourceKind } from '../../ports/store.ts';
import type { PgDb, Row } from './pg-db.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';
import { WORKSPACE_TABLES } from '../store-sqlite/sqlite-workspace-repo.ts';

const withArchive = (r: Row): Json => ({ ...JSON.parse(String(r.data)), archived_at: (r.archived_at as string | null) ?? null });

export class PgWorkspaceRepo implements WorkspaceRepo {
  private readonly s: PgDb;
  constructor(s: PgDb) {
    this.s = s;
  }

  async insert(ws: Json & { id: string; created_at: string }) {
    await this.s.run('INSERT INTO workspaces (id, archived_at, data) VALUES (?, ?, ?)', ws.id, (ws.archived_at as string | null) ?? null, JSON.stringify(ws));
  }

  async get(id: string) {
    const r = await this.s.get('SELECT archived_at, data FROM workspaces WHERE id = ?', id);
    return r ? withArchive(r) : undefined;
  }

  async update(ws: Json & { id: string }) {
    await this.s.run('UPDATE workspaces SET archived_at = ?, data = ? WHERE id = ?', (ws.archived_at as string | null) ?? null, JSON.stringify(ws), ws.id);
  }

  async list(q: PageQuery & { includeArchived: boolean; ids?: string[] }): Promise<Page<Json>> {
    const k = keyset(q);
    let where = q.includeArchived ? 'WHERE 1=1' : 'WHERE archived_at IS NULL';
    const params: Array<string | string[]> = [];
    if (q.ids) { where += ' AND id = ANY(?::text[])'; params.push(q.ids); }
    const rows = await this.s.all(`SELECT seq, archived_at, data FROM workspaces ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, withArchive);
  }

  async ownerOf(kind: WorkspaceResourceKind, id: string) {
    const r = await this.s.get(`SELECT workspace_id FROM ${WORKSPACE_TABLES[kind]} WHERE id = ?`, id);
    return r ? String(r.workspace_id) : undefined;
  }
}
