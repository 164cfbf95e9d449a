// SQLite repo of spend limits, their ledger and the sessions waiting for room (src/domain/spend.ts).
// `applySessionSpend` runs inside a session commit's BEGIN IMMEDIATE transaction, which serializes
// every writer of the file: the admission check and the ledger update cannot interleave with another
// session's.
import { spendLedgerRow as toLedger, spendLimitRow as toLimit } from '../store-common/store-rows.ts';
import type { AuditEvent, Page, PageQuery, SpendLedgerRow, SpendLimitRow, SpendRepo } from '../../ports/store.ts';
import { appendAudit } from './sqlite-audit-repo.ts';
import { admit, monthOf, spendDelta, spendScopesOf, spendWaitOf } from '../../domain/spend.ts';
import type { SqliteAccess } from './sqlite-work-repo.ts';
import { keyset, pageOf } from './sqlite-paging.ts';

type Row = Record<string, unknown>;

const marks = (n: number) => Array.from({ length: n }, () => '?').join(',');

export function ledgerRows(s: SqliteAccess, scopes: string[]): SpendLedgerRow[] {
  if (!scopes.length) return [];
  return s.all(`SELECT * FROM spend_ledger WHERE scope IN (${marks(scopes.length)})`, ...scopes).map(toLedger);
}

export function limitRows(s: SqliteAccess, scopes: string[]): SpendLimitRow[] {
  if (!scopes.length) return [];
  return s.all(`SELECT * FROM spend_limits WHERE scope_key IN (${marks(scopes.length)})`, ...scopes).map(toLimit);
}

/**
 * Applies what a session commit changes in the ledger (`after` undefined: the session is deleted).
 * Throws `SpendLimitReached` (the caller's transaction rolls back) when a new reservation does not fit.
 */
export function applySessionSpend(s: SqliteAccess, before: Record<string, unknown>, after: Record<string, unknown> | undefined, now: string): void {
  const delta = spendDelta(before, after);
  const wasWaiting = spendWaitOf(before);
  const waits = after ? spendWaitOf(after) : undefined;
  if (!delta && waits === wasWaiting) return;
  const scopes = spendScopesOf(after ?? before);
  const month = monthOf(now);
  if (delta) {
    if (delta.reserve > 0) admit(delta, ledgerRows(s, scopes), limitRows(s, scopes), month);
    const reserved = delta.reserve - delta.release;
    for (const scope of scopes) {
      s.run(
        `INSERT INTO spend_ledger (scope, month, spent_micros, reserved_micros) VALUES (?, ?, ?, MAX(0, ?))
         ON CONFLICT (scope) DO UPDATE SET
           spent_micros = CASE WHEN excluded.month > month THEN excluded.spent_micros ELSE spent_micros + excluded.spent_micros END,
           month = MAX(month, excluded.month),
           reserved_micros = MAX(0, reserved_micros + ?)`,
        scope, month, delta.spent, reserved, reserved);
    }
  }
  if (waits && waits !== wasWaiting) {
    s.run('INSERT INTO spend_waits (session_id, scopes, month) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET scopes = excluded.scopes, month = excluded.month',
      String(before.id), `,${scopes.join(',')},`, waits.month);
  } else if (!waits && wasWaiting) {
    s.run('DELETE FROM spend_waits WHERE session_id = ?', String(before.id));
  }
}

export class SqliteSpendRepo implements SpendRepo {
  private readonly s: SqliteAccess;

  constructor(s: SqliteAccess) {
    this.s = s;
  }

  async putLimit(row: SpendLimitRow, audit?: (stored: SpendLimitRow) => AuditEvent) {
    return this.s.tx(() => {
      const old = this.s.get('SELECT data FROM spend_limits WHERE scope_key = ? AND period = ?', row.scopeKey, row.limit.period);
      let stored = row;
      if (old) {
        const prev = JSON.parse(String(old.data));
        const limit = { ...row.limit, id: prev.id, created_at: prev.created_at };
        this.s.run('UPDATE spend_limits SET data = ? WHERE id = ?', JSON.stringify(limit), prev.id);
        stored = { limit, scopeKey: row.scopeKey };
      } else {
        const ws = row.limit.scope.type === 'workspace' ? row.limit.scope.workspace_id : null;
        this.s.run('INSERT INTO spend_limits (id, scope_key, scope_type, workspace_id, period, data) VALUES (?, ?, ?, ?, ?, ?)',
          row.limit.id, row.scopeKey, row.limit.scope.type, ws, row.limit.period, JSON.stringify(row.limit));
      }
      if (audit) appendAudit(this.s, audit(stored));
      return stored;
    });
  }

  async getLimit(id: string) {
    const r = this.s.get('SELECT * FROM spend_limits WHERE id = ?', id);
    return r ? toLimit(r) : undefined;
  }

  async deleteLimit(id: string, audit?: AuditEvent) {
    return this.s.tx(() => {
      const deleted = this.s.run('DELETE FROM spend_limits WHERE id = ?', id) > 0;
      if (deleted && audit) appendAudit(this.s, audit);
      return deleted;
    });
  }

  async listLimits(q: PageQuery & { scopeTypes?: string[]; workspaceId?: string }): Promise<Page<SpendLimitRow>> {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number> = [];
    if (q.scopeTypes?.length) { where += ` AND scope_type IN (${marks(q.scopeTypes.length)})`; params.push(...q.scopeTypes); }
    if (q.workspaceId) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    const rows = this.s.all(`SELECT * FROM spend_limits ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, toLimit);
  }

  async limitsFor(scopes: string[]) {
    return limitRows(this.s, scopes);
  }

  async ledger(scopes: string[]) {
    return ledgerRows(this.s, scopes);
  }

  async putWait(sessionId: string, scopes: string[], month: string) {
    this.s.run('INSERT INTO spend_waits (session_id, scopes, month) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET scopes = excluded.scopes, month = excluded.month',
      sessionId, `,${scopes.join(',')},`, month);
  }

  async deleteWait(sessionId: string) {
    this.s.run('DELETE FROM spend_waits WHERE session_id = ?', sessionId);
  }

  async waiting(scope?: string) {
    const rows = scope === undefined
      ? this.s.all('SELECT session_id FROM spend_waits ORDER BY session_id')
      : this.s.all('SELECT session_id FROM spend_waits WHERE instr(scopes, ?) > 0 ORDER BY session_id', `,${scope},`);
    return rows.map((r) => String(r.session_id));
  }
}
