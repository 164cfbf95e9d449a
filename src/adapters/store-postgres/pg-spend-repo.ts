// PostgreSQL repo of spend limits, their ledger and the sessions waiting for room (src/domain/spend.ts).
// `applySessionSpend` runs inside a session commit's transaction, after the session row is locked:
// a commit that reserves locks its scopes' ledger rows (FOR UPDATE, in key order, so two commits
// never deadlock) before the admission check, so reservations of sessions on any number of nodes
// are admitted one at a time against the same totals.
import { spendLedgerRow as toLedger, spendLimitRow as toLimit } from '../store-common/store-rows.ts';
import type { AuditEvent, Page, PageQuery, SpendLedgerRow, SpendLimitRow, SpendRepo } from '../../ports/store.ts';
import { AUDIT_INSERT, auditParams } from '../store-sqlite/sqlite-audit-repo.ts';
import { admit, monthOf, spendDelta, spendScopesOf, spendWaitOf } from '../../domain/spend.ts';
import type { PgDb, Querier, Row } from './pg-db.ts';
import { keyset, pageOf } from '../store-sqlite/sqlite-paging.ts';


const ledgerRows = async (q: Querier, scopes: string[], lock = false) =>
  (await q.all(`SELECT * FROM spend_ledger WHERE scope = ANY(?::text[]) ORDER BY scope${lock ? ' FOR UPDATE' : ''}`, scopes)).map(toLedger);

const limitRows = async (q: Querier, scopes: string[]) =>
  (await q.all('SELECT * FROM spend_limits WHERE scope_key = ANY(?::text[])', scopes)).map(toLimit);

/**
 * Applies what a session commit changes in the ledger (`after` undefined: the session is deleted).
 * Throws `SpendLimitReached` (the caller's transaction rolls back) when a new reservation does not fit.
 */
export async function applySessionSpend(q: Querier, before: Record<string, unknown>, after: Record<string, unknown> | undefined, now: string): Promise<void> {
  const delta = spendDelta(before, after);
  const wasWaiting = spendWaitOf(before);
  const waits = after ? spendWaitOf(after) : undefined;
  if (!delta && waits === wasWaiting) return;
  const scopes = spendScopesOf(after ?? before);
  const month = monthOf(now);
  if (delta) {
    if (delta.reserve > 0) {
      // Rows must exist to be locked; then the admission check reads them locked (one writer at a time).
      await q.run('INSERT INTO spend_ledger (scope, month, spent_micros, reserved_micros) SELECT s, ?, 0, 0 FROM unnest(?::text[]) AS s ON CONFLICT (scope) DO NOTHING', month, scopes);
      admit(delta, await ledgerRows(q, scopes, true), await limitRows(q, scopes), month);
    }
    const reserved = delta.reserve - delta.release;
    // Both scopes in one statement.
    await q.run(
      `INSERT INTO spend_ledger AS l (scope, month, spent_micros, reserved_micros)
         SELECT s, ?, ?::bigint, GREATEST(0, ?::bigint) FROM unnest(?::text[]) AS s
       ON CONFLICT (scope) DO UPDATE SET
         spent_micros = CASE WHEN excluded.month > l.month THEN excluded.spent_micros ELSE l.spent_micros + excluded.spent_micros END,
         month = GREATEST(l.month, excluded.month),
         reserved_micros = GREATEST(0, l.reserved_micros + ?::bigint)`,
      month, delta.spent, reserved, scopes, reserved);
  }
  if (waits && waits !== wasWaiting) {
    await q.run('INSERT INTO spend_waits (session_id, scopes, month) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET scopes = excluded.scopes, month = excluded.month',
      String(before.id), `,${scopes.join(',')},`, waits.month);
  } else if (!waits && wasWaiting) {
    await q.run('DELETE FROM spend_waits WHERE session_id = ?', String(before.id));
  }
}

export class PgSpendRepo implements SpendRepo {
  private readonly s: PgDb;

  constructor(s: PgDb) {
    this.s = s;
  }

  async putLimit(row: SpendLimitRow, audit?: (stored: SpendLimitRow) => AuditEvent) {
    const ws = row.limit.scope.type === 'workspace' ? row.limit.scope.workspace_id : null;
    return this.s.tx(async (q) => {
      // One statement: concurrent sets of the same (scope, period) converge on one row and one id.
      const stored = toLimit((await q.get(
      `INSERT INTO spend_limits (id, scope_key, scope_type, workspace_id, period, data) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope_key, period) DO UPDATE SET
         data = jsonb_set(jsonb_set(excluded.data::jsonb, '{id}', to_jsonb(spend_limits.id)), '{created_at}', (spend_limits.data::jsonb)->'created_at')::text
       RETURNING *`,
        row.limit.id, row.scopeKey, row.limit.scope.type, ws, row.limit.period, JSON.stringify(row.limit)))!);
      if (audit) await q.run(AUDIT_INSERT, ...auditParams(audit(stored)));
      return stored;
    });
  }

  async getLimit(id: string) {
    const r = await this.s.get('SELECT * FROM spend_limits WHERE id = ?', id);
    return r ? toLimit(r) : undefined;
  }

  async deleteLimit(id: string, audit?: AuditEvent) {
    return this.s.tx(async (q) => {
      const deleted = (await q.run('DELETE FROM spend_limits WHERE id = ?', id)) > 0;
      if (deleted && audit) await q.run(AUDIT_INSERT, ...auditParams(audit));
      return deleted;
    });
  }

  async listLimits(q: PageQuery & { scopeTypes?: string[]; workspaceId?: string }): Promise<Page<SpendLimitRow>> {
    const k = keyset(q);
    let where = 'WHERE 1=1';
    const params: Array<string | number | string[]> = [];
    if (q.scopeTypes?.length) { where += ' AND scope_type = ANY(?::text[])'; params.push(q.scopeTypes); }
    if (q.workspaceId) { where += ' AND workspace_id = ?'; params.push(q.workspaceId); }
    const rows = await this.s.all(`SELECT * FROM spend_limits ${where}${k.where}${k.orderBy}`, ...params, ...k.params, q.limit + 1);
    return pageOf(rows, q, toLimit);
  }

  async limitsFor(scopes: string[]) {
    return limitRows(this.s, scopes);
  }

  async ledger(scopes: string[]) {
    return ledgerRows(this.s, scopes);
  }

  async putWait(sessionId: string, scopes: string[], month: string) {
    await this.s.run('INSERT INTO spend_waits (session_id, scopes, month) VALUES (?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET scopes = excluded.scopes, month = excluded.month',
      sessionId, `,${scopes.join(',')},`, month);
  }

  async deleteWait(sessionId: string) {
    await this.s.run('DELETE FROM spend_waits WHERE session_id = ?', sessionId);
  }

  async waiting(scope?: string) {
    const rows = scope === undefined
      ? await this.s.all('SELECT session_id FROM spend_waits ORDER BY session_id')
      : await this.s.all('SELECT session_id FROM spend_waits WHERE strpos(scopes, ?) > 0 ORDER BY session_id', `,${scope},`);
    return rows.map((r) => String(r.session_id));
  }
}
