// PostgreSQL repo of the append-only audit log (same table and filters as the SQLite adapter's).
import type { AuditEvent, AuditQuery, AuditRepo, Page } from '../../ports/store.ts';
import type { PgDb } from './pg-db.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';
import { AUDIT_INSERT, auditParams, auditWhere } from '../store-sqlite/sqlite-audit-repo.ts';

export class PgAuditRepo implements AuditRepo {
  private readonly s: PgDb;

  constructor(s: PgDb) {
    this.s = s;
  }

  async append(e: AuditEvent) {
    await this.s.run(AUDIT_INSERT, ...auditParams(e));
  }

  async list(q: AuditQuery): Promise<Page<AuditEvent>> {
    const { where, params } = auditWhere(q);
    const k = keyset(q);
    const rows = await this.s.all(`SELECT seq, data FROM audit_events ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, (r) => JSON.parse(String(r.data)) as AuditEvent);
  }
}
