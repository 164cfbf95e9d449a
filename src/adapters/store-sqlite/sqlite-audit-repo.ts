// SQLite repo of the append-only audit log: one row per record, the wire object in `data`, columns
// for what is filtered on (time, actor, resource, workspace).
import type { AuditEvent, AuditQuery, AuditRepo, Page } from '../../ports/store.ts';
import type { SqliteAccess } from './sqlite-work-repo.ts';
import { keyset, pageOf } from './sqlite-paging.ts';

/** WHERE clause and parameters of an audit query (shared with the PostgreSQL adapter: plain `?` SQL). */
export function auditWhere(q: AuditQuery): { where: string; params: string[] } {
  let where = 'WHERE 1=1';
  const params: string[] = [];
  const add = (sql: string, v: string | undefined) => {
    if (v !== undefined) { where += ` AND ${sql}`; params.push(v); }
  };
  add('created_at >= ?', q.createdGte);
  add('created_at <= ?', q.createdLte);
  add('created_at > ?', q.createdGt);
  add('created_at < ?', q.createdLt);
  add('actor_id = ?', q.actorId);
  add('resource_type = ?', q.resourceType);
  add('resource_id = ?', q.resourceId);
  add('workspace_id = ?', q.workspaceId);
  return { where, params };
}

/** Appends one record (inside the caller's transaction when there is one). Shared with the PostgreSQL adapter's SQL. */
export const AUDIT_INSERT = 'INSERT INTO audit_events (id, created_at, actor_id, resource_type, resource_id, workspace_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)';
export const auditParams = (e: AuditEvent) => [e.id, e.created_at, e.actor.key_id, e.resource.type, e.resource.id, e.workspace_id, JSON.stringify(e)] as const;

export function appendAudit(s: SqliteAccess, e: AuditEvent): void {
  s.run(AUDIT_INSERT, ...auditParams(e));
}

export class SqliteAuditRepo implements AuditRepo {
  private readonly s: SqliteAccess;

  constructor(s: SqliteAccess) {
    this.s = s;
  }

  async append(e: AuditEvent) {
    appendAudit(this.s, e);
  }

  async list(q: AuditQuery): Promise<Page<AuditEvent>> {
    const { where, params } = auditWhere(q);
    const k = keyset(q);
    const rows = this.s.all(`SELECT seq, data FROM audit_events ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => JSON.parse(String(r.data)) as AuditEvent);
  }
}
